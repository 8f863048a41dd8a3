package store

// SQLSupersede is the supersession statement, for the test of its plan.
const SQLSupersede = sqlSupersede

// SQLIntakePlans and SQLSeenDeliveries are the intake's setting and
// its first look-up, for the test of its plans.
const (
	SQLIntakePlans    = sqlIntakePlans
	SQLSeenDeliveries = sqlSeenDeliveries
)
