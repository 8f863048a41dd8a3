package store

// SQLSupersede is the supersession statement, for the test of its plan.
const SQLSupersede = sqlSupersede
