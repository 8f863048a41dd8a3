package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
	"github.com/sentinel-ci/sentinel/triage"
)

// scenario drives synthetic histories through RecordExternalRun and the
// triage.analyze worker on a real database.
type scenario struct {
	t      testing.TB
	ctx    context.Context
	db     *store.DB
	rc     *river.Client[pgx.Tx]
	w      *TriageAnalyzeWorker
	repoID int64
}

func newScenario(t testing.TB) *scenario {
	t.Helper()
	return newScenarioOn(t, storetest.NewDB(t))
}

// newScenarioOn is newScenario on a database of the caller's (a benchmark's
// durable cluster).
func newScenarioOn(t testing.TB, db *store.DB) *scenario {
	t.Helper()
	ctx := context.Background()
	rc, err := NewClient(db, nil, ClientConfig{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	repoID, err := store.UpsertRepository(ctx, db, store.Repository{FullName: "acme/widgets", DefaultBranch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	return &scenario{t: t, ctx: ctx, db: db, rc: rc, repoID: repoID,
		w: &TriageAnalyzeWorker{DB: db, Log: slog.New(slog.DiscardHandler)}}
}

// run records one run of the given test cases and analyses it.
func (s *scenario) run(sha, branch string, attempt int, cases []triage.TestCase) (int64, AnalyzeResult) {
	s.t.Helper()
	var id int64
	err := s.db.InTx(s.ctx, func(tx pgx.Tx) error {
		var err error
		id, _, err = RecordExternalRun(s.ctx, tx, s.rc, ExternalResults{RepositoryID: s.repoID, SHA: sha, Branch: branch,
			ExternalID: "ext-" + sha, Attempt: attempt, Results: &triage.Results{Format: "junit", Tests: cases}})
		return err
	})
	if err != nil {
		s.t.Fatalf("record run %s: %v", sha, err)
	}
	res, err := s.w.Analyze(s.ctx, s.rc, id)
	if err != nil {
		s.t.Fatalf("analyze run %d: %v", id, err)
	}
	return id, res
}

func (s *scenario) test(name string) store.Test {
	s.t.Helper()
	t, err := store.FindTest(s.ctx, s.db, s.repoID, "example.com/pkg", name)
	if err != nil {
		s.t.Fatal(err)
	}
	return t
}

func (s *scenario) everFlaky(testID int64) bool {
	s.t.Helper()
	var n int
	if err := s.db.QueryRow(s.ctx, `SELECT count(*) FROM test_events WHERE test_id = $1 AND to_state = 'flaky'`, testID).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n > 0
}

// suite is n passing tests named T00..; fail marks some as failing.
func suite(n int, fail func(i int) bool) []triage.TestCase {
	out := make([]triage.TestCase, n)
	for i := range out {
		out[i] = triage.TestCase{Package: "example.com/pkg", Name: fmt.Sprintf("T%02d", i), Attempt: 1, Outcome: triage.OutcomePass}
		if fail != nil && fail(i) {
			out[i].Outcome, out[i].Message = triage.OutcomeFail, "expected 3, got 4"
		}
	}
	return out
}

func TestAnalyzeRandomFlakyTestIsFound(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	r := rand.New(rand.NewPCG(11, 5))
	foundAt := 0
	for i := 0; i < 80 && foundAt == 0; i++ {
		_, res := s.run(fmt.Sprintf("c%03d", i), "main", 1, suite(20, func(j int) bool { return j == 7 && r.IntN(10) == 0 }))
		for _, e := range res.Transitions {
			if e.To == "flaky" {
				foundAt = i + 1
			}
		}
	}
	if foundAt == 0 {
		t.Fatalf("a 1-in-10 flaky test was not found in 80 runs: %+v", s.test("T07"))
	}
	t.Logf("found flaky after %d runs", foundAt)
	for j := 0; j < 20; j++ {
		if j != 7 && s.everFlaky(s.test(fmt.Sprintf("T%02d", j)).ID) {
			t.Errorf("T%02d (always passing) called flaky", j)
		}
	}
	// Its next failure is reported as flaky, so it does not fail the check run.
	id, _ := s.run("next", "main", 1, suite(20, func(j int) bool { return j == 7 }))
	_, fs, err := store.CheckRunReport(s.ctx, s.db, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || !fs[0].Flaky || Conclusion(store.RunFailed, fs) != "neutral" {
		t.Fatalf("failures of a known flaky test: %+v", fs)
	}
}

func TestAnalyzeBrokenAtCommit(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	for i := 0; i < 20; i++ {
		s.run(fmt.Sprintf("c%02d", i), "main", 1, suite(12, func(j int) bool { return j == 3 && i >= 10 }))
	}
	got := s.test("T03")
	if got.State() != "broken" || got.Flaky.FirstBadSHA != "c10" || got.Flaky.LastGoodSHA != "c09" {
		t.Fatalf("T03: state %s, first bad %q, last good %q; want broken c10 c09", got.State(), got.Flaky.FirstBadSHA, got.Flaky.LastGoodSHA)
	}
	if s.everFlaky(got.ID) {
		t.Fatal("a broken test was called flaky")
	}
	if st := s.test("T00"); st.State() != "healthy" {
		t.Fatalf("T00 (always passing) state %s", st.State())
	}
}

func TestAnalyzeRetriesOnSameCommitAreFlakyAtOnce(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	cases := suite(5, nil)
	retry := cases[2]
	cases[2].Outcome, cases[2].Message = triage.OutcomeFail, "timeout waiting for lock"
	retry.Attempt = 2
	s.run("a1", "main", 1, append(cases, retry))
	if st := s.test("T02"); st.State() != "flaky" {
		t.Fatalf("fail then pass in one run: state %s", st.State())
	}
	// Across runs: a re-run of the same commit on a branch.
	s.run("b1", "feature", 1, suite(5, func(j int) bool { return j == 4 }))
	s.run("b1", "feature", 2, suite(5, nil))
	if st := s.test("T04"); st.State() != "flaky" {
		t.Fatalf("fail then pass on re-run: state %s", st.State())
	}
}

func TestAnalyzeMassFailureGuard(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	for i := 0; i < 30; i++ {
		everything := i%4 == 1 // every fourth run, all tests fail at once
		_, res := s.run(fmt.Sprintf("m%02d", i), "main", 1, suite(20, func(int) bool { return everything }))
		if res.MassFailure != everything {
			t.Fatalf("run %d: mass failure %v", i, res.MassFailure)
		}
		if len(res.Transitions) > 0 {
			t.Fatalf("run %d: state changes from mass failures: %+v", i, res.Transitions)
		}
	}
	if st := s.test("T05"); st.Flaky.Window.Bits != 0 || st.Runs != 22 {
		t.Fatalf("mass failures counted: window %b over %d runs", st.Flaky.Window.Bits, st.Runs)
	}
}

func TestAnalyzeIsIdempotent(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	s.run("i0", "main", 1, suite(4, nil))
	id, _ := s.run("i1", "main", 1, suite(4, func(j int) bool { return j == 1 }))
	snapshot := func() string {
		var out string
		err := s.db.QueryRow(s.ctx, `SELECT
			(SELECT string_agg(occurrences || '/' || run_count, ',' ORDER BY id) FROM clusters) || ' ' ||
			(SELECT count(*) FROM failures) || ' ' ||
			(SELECT string_agg(runs || ':' || window_bits, ',' ORDER BY id) FROM tests)`).Scan(&out)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := snapshot()
	res, err := s.w.Analyze(s.ctx, s.rc, id)
	if err != nil {
		t.Fatal(err)
	}
	if res.First {
		t.Fatal("second analysis claims to be the first")
	}
	if after := snapshot(); after != before {
		t.Fatalf("analysing again changed counters: %s -> %s", before, after)
	}
}

func TestAnalyzeQuarantineListFromConfig(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	if err := store.SetRepositoryPolicy(s.ctx, s.db, s.repoID, []string{"example.com/pkg.T01"}, 0, 0); err != nil {
		t.Fatal(err)
	}
	id, _ := s.run("q0", "main", 1, suite(3, func(j int) bool { return j == 1 }))
	if st := s.test("T01"); st.State() != "quarantined" || st.QuarantineSource != "config" {
		t.Fatalf("T01: %s from %q", st.State(), st.QuarantineSource)
	}
	_, fs, err := store.CheckRunReport(s.ctx, s.db, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || !fs[0].Quarantined || Conclusion(store.RunFailed, fs) != "neutral" {
		t.Fatalf("quarantined failure: %+v", fs)
	}
	// External results without an installation get no check run, only the conclusion.
	run, err := store.GetRun(s.ctx, s.db, id)
	if err != nil || run.Conclusion != "neutral" {
		t.Fatalf("conclusion of the external run: %q %v", run.Conclusion, err)
	}
	var reports int
	if err := s.db.QueryRow(s.ctx, `SELECT count(*) FROM river_job WHERE kind = 'report.check' AND (args->>'run_id')::bigint = $1`, id).Scan(&reports); err != nil || reports != 0 {
		t.Fatalf("report.check jobs for a run without installation: %d %v", reports, err)
	}
	// Taken off the list, the quarantine ends.
	if err := store.SetRepositoryPolicy(s.ctx, s.db, s.repoID, nil, 0, 0); err != nil {
		t.Fatal(err)
	}
	s.run("q1", "main", 1, suite(3, nil))
	if st := s.test("T01"); st.State() == "quarantined" {
		t.Fatalf("T01 still quarantined after leaving the list")
	}
	// Missing results still fail: a run whose step failed with no test to blame.
	if c := Conclusion(store.RunFailed, []store.ReportFailure{{Category: "unknown"}}); c != "failure" {
		t.Fatalf("conclusion without results: %s", c)
	}
}

// erroredRun records a run the runner ended as errored for infrastructure.
func (s *scenario) erroredRun(sha, branch string) AnalyzeResult {
	s.t.Helper()
	id, _, err := store.InsertRun(s.ctx, s.db, store.NewRun{RepositoryID: s.repoID, SHA: sha, Branch: branch, Trigger: "push"})
	if err != nil {
		s.t.Fatal(err)
	}
	for _, to := range []store.RunState{store.RunRunning, store.RunErrored} {
		if _, err := store.TransitionRun(s.ctx, s.db, id, []store.RunState{store.RunQueued, store.RunRunning}, to,
			triage.CategoryInfrastructure, "docker: Cannot connect to the Docker daemon at unix:///var/run/docker.sock"); err != nil {
			s.t.Fatal(err)
		}
	}
	res, err := s.w.Analyze(s.ctx, s.rc, id)
	if err != nil {
		s.t.Fatal(err)
	}
	return res
}

func TestAnalyzeInfrastructureIncident(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	for i := 0; i < 7; i++ {
		s.run(fmt.Sprintf("ok%d", i), "main", 1, suite(3, nil))
	}
	var opened []int64
	for i := 0; i < 4; i++ {
		res := s.erroredRun(fmt.Sprintf("bad%d", i), "feature")
		if !res.MassFailure {
			t.Fatalf("errored run not guarded: %+v", res)
		}
		opened = append(opened, res.Incidents...)
	}
	// 3 errored of 10 runs reach the 30% rate; the fourth adds nothing.
	if len(opened) != 1 {
		t.Fatalf("infrastructure incidents: %v", opened)
	}
	var kind string
	if err := s.db.QueryRow(s.ctx, `SELECT kind FROM incidents WHERE id = $1`, opened[0]).Scan(&kind); err != nil || kind != "infrastructure" {
		t.Fatalf("incident kind %q %v", kind, err)
	}
}

// Two analyses of the same run at once (a rescued job beside the first)
// count it once.
func TestAnalyzeConcurrentlyCountsOnce(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	var id int64
	err := s.db.InTx(s.ctx, func(tx pgx.Tx) error {
		var err error
		id, _, err = RecordExternalRun(s.ctx, tx, s.rc, ExternalResults{RepositoryID: s.repoID, SHA: "cc1", Branch: "main",
			ExternalID: "x", Results: &triage.Results{Format: "junit", Tests: suite(6, func(j int) bool { return j == 2 })}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	firsts := make(chan bool, 2)
	for i := 0; i < 2; i++ {
		go func() {
			res, err := s.w.Analyze(s.ctx, s.rc, id)
			errs <- err
			firsts <- res.First
		}()
	}
	n := 0
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		if <-firsts {
			n++
		}
	}
	var occ, runs, failures int
	if err := s.db.QueryRow(s.ctx, `SELECT sum(occurrences), sum(run_count), (SELECT count(*) FROM failures) FROM clusters`).Scan(&occ, &runs, &failures); err != nil {
		t.Fatal(err)
	}
	if n != 1 || occ != 1 || runs != 1 || failures != 1 {
		t.Fatalf("first analyses %d, occurrences %d, run count %d, failures %d", n, occ, runs, failures)
	}
}
