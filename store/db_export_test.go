package store

// PoolConfig is the pool's configuration, for its test.
var PoolConfig = poolConfig
