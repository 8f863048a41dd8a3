package store

// OutboundLookups exposes the recorded mode's queries, with example
// arguments (paths and commits of the history the test seeds), to
// TestOutboundLookupsUseIndexes.
var OutboundLookups = []struct {
	Name  string
	SQL   string
	Args  []any
	Index string // the index the plan must read
}{
	{"next seq", sqlNextOutbound, []any{"POST", "/repos/o/r1/check-runs"}, "outbound_calls_path_seq_idx"},
	{"calls at", sqlOutboundAt, []any{"POST", "/repos/o/r1/check-runs"}, "outbound_calls_path_seq_idx"},
	{"last call at", sqlLastOutboundAt, []any{"PATCH", "/repos/o/r1/check-runs"}, "outbound_calls_path_seq_idx"},
	{"call at seq", sqlOutboundAtSeq, []any{"POST", "/repos/o/r1/check-runs", 2}, "outbound_calls_path_seq_idx"},
	{"call at id", sqlOutboundAtID, []any{int64(1), "POST", "/repos/o/r1/check-runs"}, "outbound_calls_pkey"},
	{"check runs of a commit", sqlOutboundCheckRuns, []any{"/repos/o/r1/check-runs", "c4ca4238a0b923820dcc509a6f75849b"}, "outbound_calls_check_run_sha_idx"},
}
