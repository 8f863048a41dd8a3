package store

// TestResultReads exposes the readers of a test's results, for
// TestTestResultReadsAreIndexOnly: $1 is a test id (or an array of them), the
// other arguments are filled by the test.
var TestResultReads = []struct {
	Name string
	SQL  string
}{
	{"test page history", testHistorySQL},
	{"test page weekly trend", weeklyRatesSQL},
	{"flaky page recent outcomes", recentOutcomesSQL},
	{"flaky page impact", impactSQL},
}
