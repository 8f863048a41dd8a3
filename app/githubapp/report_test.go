package githubapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sentinel-ci/sentinel/app/githubapp/githubtest"
	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// seededRun is a run of octo/calc (installation 7) in the test database.
type seededRun struct {
	db    *store.DB
	runID int64
	repo  int64
}

func seedRun(t *testing.T, db *store.DB) seededRun {
	t.Helper()
	ctx := context.Background()
	if err := store.UpsertInstallation(ctx, db, store.Installation{ID: 7, AccountLogin: "octo"}); err != nil {
		t.Fatal(err)
	}
	repoID, err := store.UpsertRepository(ctx, db, store.Repository{GitHubID: 1001, InstallationID: 7, FullName: "octo/calc"})
	if err != nil {
		t.Fatal(err)
	}
	runID, _, err := store.InsertRun(ctx, db, store.NewRun{RepositoryID: repoID, SHA: "0123456789abcdef0123456789abcdef01234567", Ref: "refs/heads/main", Branch: "main", Trigger: "push"})
	if err != nil {
		t.Fatal(err)
	}
	return seededRun{db: db, runID: runID, repo: repoID}
}

func (s seededRun) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := s.db.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// start moves the run to running, as the runner does.
func (s seededRun) start(t *testing.T) {
	t.Helper()
	if ok, err := store.TransitionRun(context.Background(), s.db, s.runID, []store.RunState{store.RunQueued}, store.RunRunning, "", ""); err != nil || !ok {
		t.Fatalf("start run: %v %v", ok, err)
	}
}

// finish ends the run in state with a build step, a test step and n failing
// tests (TestCase000…), the first seen in an earlier run, the last flaky when flaky is set.
func (s seededRun) finish(t *testing.T, state store.RunState, n int, flaky bool) {
	t.Helper()
	ctx := context.Background()
	s.exec(t, `INSERT INTO steps (run_id, position, name, state, exit_code, started_at, finished_at)
		VALUES ($1, 1, 'build', 'succeeded', 0, now() - interval '60 seconds', now() - interval '57 seconds'),
		       ($1, 2, 'test', $2, 1, now() - interval '57 seconds', now())`, s.runID, map[bool]string{true: "failed", false: "succeeded"}[n > 0])
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("TestCase%03d", i)
		var testID, clusterID int64
		if err := s.db.QueryRow(ctx, `INSERT INTO tests (repository_id, package, name, state) VALUES ($1, 'example.com/calc', $2, $3) RETURNING id`,
			s.repo, name, map[bool]string{true: "flaky", false: "healthy"}[flaky && i == n-1]).Scan(&testID); err != nil {
			t.Fatal(err)
		}
		if err := s.db.QueryRow(ctx, `INSERT INTO clusters (repository_id, fingerprint, category, title) VALUES ($1, $2, 'test_failure', $3) RETURNING id`,
			s.repo, fmt.Sprintf("fp%03d", i), "expected 2, got 3").Scan(&clusterID); err != nil {
			t.Fatal(err)
		}
		s.exec(t, `INSERT INTO failures (run_id, step_id, cluster_id, test_id, category, title, fingerprint, confidence, file, line, hint, remediation)
			VALUES ($1, (SELECT id FROM steps WHERE run_id = $1 AND name = 'test'), $2, $3, 'test_failure', $4, $5, 0.9, $6, $7,
				'The assertion fails on every run.', 'Fix Add or the expectation.')`,
			s.runID, clusterID, testID, "expected 2, got 3 in "+name, fmt.Sprintf("fp%03d", i), "/workspace/calc/add_test.go", 10+i)
	}
	if ok, err := store.TransitionRun(ctx, s.db, s.runID, []store.RunState{store.RunRunning}, state, "", ""); err != nil || !ok {
		t.Fatalf("finish run: %v %v", ok, err)
	}
}

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// newReportTest is a fake GitHub, a database holding one queued run, and a
// report.check worker between them.
func newReportTest(t *testing.T) (*githubtest.Server, *store.DB, seededRun, *jobs.ReportCheckWorker) {
	fake := githubtest.New(t)
	db := storetest.NewDB(t)
	return fake, db, seedRun(t, db), newWorker(t, db, newTestClient(t, fake.URL))
}

func newWorker(t *testing.T, db *store.DB, gh jobs.GitHub) *jobs.ReportCheckWorker {
	return &jobs.ReportCheckWorker{DB: db, GitHub: gh, PublicURL: "http://sentinel.test", Log: testLog(t)}
}

// work runs one report.check job as River would: retried on errors, snoozed
// on rate limits (without waiting: the fake's limits reset at once), until it
// succeeds; a cancelled job fails the test.
func work(t *testing.T, w *jobs.ReportCheckWorker, runID int64, phase string) (attempts int) {
	t.Helper()
	const maxAttempts = 200
	for attempts = 1; ; attempts++ {
		job := &river.Job[jobs.ReportCheckArgs]{JobRow: &rivertype.JobRow{ID: int64(attempts), Attempt: attempts}, Args: jobs.ReportCheckArgs{RunID: runID, Phase: phase}}
		err := w.Work(context.Background(), job)
		if err == nil {
			return attempts
		}
		var cancel *rivertype.JobCancelError
		if errors.As(err, &cancel) {
			t.Fatalf("%s job cancelled: %v", phase, err)
		}
		if attempts == maxAttempts {
			t.Fatalf("%s job still failing after %d attempts: %v", phase, attempts, err)
		}
	}
}

func annotationRequests(fake *githubtest.Server) (sizes []int) {
	for _, r := range fake.Requests() {
		// A run that ended before its queued report ran gets its check run
		// created completed, with the first annotations.
		sent := (r.Method == "PATCH" && r.Status == 200) || (r.Method == "POST" && r.Status == 201)
		if sent && strings.Contains(string(r.Body), `"annotations"`) {
			sizes = append(sizes, strings.Count(string(r.Body), `"annotation_level"`))
		}
	}
	return sizes
}

// go test names a failing test's file relative to its package; in a
// monorepo only the modules the runner recorded place it in the repository.
func TestReportCheckMonorepoAnnotations(t *testing.T) {
	t.Parallel()
	fake, db, run, w := newReportTest(t)
	if err := store.SetRunGoModules(context.Background(), db, run.runID, map[string]string{"example.com/calc": "services/calc"}); err != nil {
		t.Fatal(err)
	}
	work(t, w, run.runID, jobs.PhaseQueued)
	run.start(t)
	run.finish(t, store.RunFailed, 1, false)
	run.exec(t, `UPDATE failures SET file = 'add_test.go' WHERE run_id = $1`, run.runID)
	work(t, w, run.runID, jobs.PhaseCompleted)

	crs := fake.CheckRuns()
	if len(crs) != 1 || len(crs[0].Annotations) != 1 {
		t.Fatalf("check runs %+v, want one with one annotation", crs)
	}
	if got := crs[0].Annotations[0].GetPath(); got != "services/calc/add_test.go" {
		t.Errorf("annotation path %q, want services/calc/add_test.go (module example.com/calc lives in services/calc)", got)
	}
}

func TestReportCheckLifecycle(t *testing.T) {
	t.Parallel()
	fake, db, run, w := newReportTest(t)

	work(t, w, run.runID, jobs.PhaseQueued)
	run.start(t)
	work(t, w, run.runID, jobs.PhaseInProgress)
	run.finish(t, store.RunFailed, 1, false)
	work(t, w, run.runID, jobs.PhaseCompleted)

	crs := fake.CheckRuns()
	if len(crs) != 1 {
		t.Fatalf("%d check runs, want 1", len(crs))
	}
	cr := crs[0]
	if diff := cmp.Diff([]string{"queued", "in_progress", "completed:failure"}, cr.History); diff != "" {
		t.Errorf("status history (-want +got):\n%s", diff)
	}
	for _, want := range []string{"example.com/calc.TestCase000", "test_failure", "http://sentinel.test/runs/", "Fix Add or the expectation."} {
		if !strings.Contains(cr.Summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, cr.Summary)
		}
	}
	if len(cr.Annotations) != 1 || cr.Annotations[0].GetPath() != "calc/add_test.go" || cr.Annotations[0].GetStartLine() != 10 || cr.Annotations[0].GetAnnotationLevel() != "failure" {
		t.Errorf("annotations: %+v", cr.Annotations)
	}
	if cr.ExternalID != fmt.Sprint(run.runID) || cr.DetailsURL != fmt.Sprintf("http://sentinel.test/runs/%d", run.runID) {
		t.Errorf("external id %q, details %q", cr.ExternalID, cr.DetailsURL)
	}
	stored, err := store.GetRun(context.Background(), db, run.runID)
	if err != nil || stored.CheckRunID != cr.ID || stored.Conclusion != "failure" {
		t.Errorf("run row: check run %d conclusion %q (%v), want %d failure", stored.CheckRunID, stored.Conclusion, err, cr.ID)
	}
	// A repeated completion (a rescued job) changes nothing GitHub shows.
	work(t, w, run.runID, jobs.PhaseCompleted)
	if got := fake.CheckRuns()[0]; len(got.Annotations) != 1 || len(got.History) != 3 {
		t.Errorf("after a repeated completion: %d annotations, history %v", len(got.Annotations), got.History)
	}
}

// TestReportCheckRunEndedBeforeReporting: a run that ended (here superseded
// by a later push) before its queued report ran gets no queued check run; its
// completed report creates the check run completed in one call, and a
// repeated completion changes nothing.
func TestReportCheckRunEndedBeforeReporting(t *testing.T) {
	t.Parallel()
	fake, db, run, w := newReportTest(t)
	run.exec(t, `UPDATE runs SET state = 'cancelled', finished_at = now(), error = 'superseded' WHERE id = $1`, run.runID)
	checkRunCalls := func() (methods []string) {
		for _, r := range fake.Requests() {
			if strings.Contains(r.Path, "/check-runs") {
				methods = append(methods, r.Method)
			}
		}
		return methods
	}
	work(t, w, run.runID, jobs.PhaseQueued)
	if calls := checkRunCalls(); len(calls) != 0 {
		t.Fatalf("the queued report of an ended run sent %v, want nothing", calls)
	}
	work(t, w, run.runID, jobs.PhaseCompleted)
	methods := checkRunCalls()
	if diff := cmp.Diff([]string{"GET", "POST"}, methods); diff != "" {
		t.Errorf("requests (-want +got): a list, then one create\n%s", diff)
	}
	crs := fake.CheckRuns()
	if len(crs) != 1 {
		t.Fatalf("%d check runs, want 1", len(crs))
	}
	if diff := cmp.Diff([]string{"completed:cancelled"}, crs[0].History); diff != "" {
		t.Errorf("status history (-want +got):\n%s", diff)
	}
	if crs[0].ExternalID != fmt.Sprint(run.runID) || crs[0].Summary == "" {
		t.Errorf("external id %q, summary %q", crs[0].ExternalID, crs[0].Summary)
	}
	stored, err := store.GetRun(context.Background(), db, run.runID)
	if err != nil || stored.CheckRunID != crs[0].ID || stored.Conclusion != "cancelled" {
		t.Errorf("run row: check run %d conclusion %q (%v), want %d cancelled", stored.CheckRunID, stored.Conclusion, err, crs[0].ID)
	}
	work(t, w, run.runID, jobs.PhaseCompleted)
	if got := fake.CheckRuns(); len(got) != 1 || len(got[0].History) != 1 {
		t.Errorf("after a repeated completion: %d check runs, history %v", len(got), got[0].History)
	}
}

func TestReportCheckSendsAnnotationsInBatches(t *testing.T) {
	t.Parallel()
	fake, _, run, w := newReportTest(t)
	run.start(t)
	run.finish(t, store.RunFailed, 120, false)
	work(t, w, run.runID, jobs.PhaseCompleted)

	sizes := annotationRequests(fake)
	if len(sizes) < 3 {
		t.Errorf("annotations in %d requests %v, want at least 3", len(sizes), sizes)
	}
	for _, n := range sizes {
		if n > 50 {
			t.Errorf("a request carried %d annotations", n)
		}
	}
	if n := len(fake.CheckRuns()[0].Annotations); n != 120 {
		t.Errorf("%d annotations, want 120", n)
	}
}

func TestReportCheckNeutralWhenOnlyFlaky(t *testing.T) {
	t.Parallel()
	fake, _, run, w := newReportTest(t)
	run.start(t)
	run.finish(t, store.RunFailed, 1, true)
	work(t, w, run.runID, jobs.PhaseCompleted)
	cr := fake.CheckRuns()[0]
	if cr.Conclusion != "neutral" || !strings.Contains(cr.Summary, "known flaky test") || cr.Annotations[0].GetAnnotationLevel() != "warning" {
		t.Errorf("conclusion %q, level %q, summary:\n%s", cr.Conclusion, cr.Annotations[0].GetAnnotationLevel(), cr.Summary)
	}
	var ids []string
	for _, a := range cr.Actions {
		ids = append(ids, a.Identifier)
	}
	if diff := cmp.Diff([]string{jobs.ActionRerunFailed, jobs.ActionQuarantineFlaky}, ids); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
}

// TestReportCheckLostCreateAnswer: GitHub created the check run but its
// answer was lost; the retry finds it by external_id instead of creating another.
func TestReportCheckLostCreateAnswer(t *testing.T) {
	t.Parallel()
	fake, db, run, w := newReportTest(t)
	fake.FailNext(githubtest.Fault{Kind: githubtest.LostAnswer, Method: "POST", PathPrefix: "/repos/"})
	if n := work(t, w, run.runID, jobs.PhaseQueued); n != 2 {
		t.Errorf("took %d attempts, want 2", n)
	}
	crs := fake.CheckRuns()
	stored, _ := store.GetRun(context.Background(), db, run.runID)
	if len(crs) != 1 || stored.CheckRunID != crs[0].ID {
		t.Errorf("%d check runs, stored id %d", len(crs), stored.CheckRunID)
	}
}

// TestReportCheckConcurrentJobs: the queued and in_progress jobs of one run
// racing do not create two check runs.
func TestReportCheckConcurrentJobs(t *testing.T) {
	t.Parallel()
	fake := githubtest.New(t)
	fake.SetDelay(20 * time.Millisecond) // widen the window
	db := storetest.NewDB(t)
	run := seedRun(t, db)
	run.start(t)
	w := newWorker(t, db, newTestClient(t, fake.URL))
	var wg sync.WaitGroup
	for _, phase := range []string{jobs.PhaseQueued, jobs.PhaseInProgress, jobs.PhaseQueued} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			job := &river.Job[jobs.ReportCheckArgs]{JobRow: &rivertype.JobRow{ID: 1}, Args: jobs.ReportCheckArgs{RunID: run.runID, Phase: phase}}
			if err := w.Work(context.Background(), job); err != nil {
				t.Errorf("%s: %v", phase, err)
			}
		}()
	}
	wg.Wait()
	if n := len(fake.CheckRuns()); n != 1 {
		t.Errorf("%d check runs, want 1", n)
	}
}

// TestReportCheckUnderFailures: with 30% of GitHub calls failing (5xx, lost
// answers, primary and secondary rate limits, 429), the final state is the
// same as without failures and nothing is duplicated.
func TestReportCheckUnderFailures(t *testing.T) {
	t.Parallel()
	var requests, failed int
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			fake, _, run, w := newReportTest(t)
			fake.SetChaos(githubtest.Chaos{Rate: 0.3, Seed: seed})

			attempts := work(t, w, run.runID, jobs.PhaseQueued)
			run.start(t)
			attempts += work(t, w, run.runID, jobs.PhaseInProgress)
			run.finish(t, store.RunFailed, 120, false)
			attempts += work(t, w, run.runID, jobs.PhaseCompleted)
			fake.SetChaos(githubtest.Chaos{})

			faults := 0
			for _, r := range fake.Requests() {
				if r.Fault != "" {
					faults++
				}
			}
			t.Logf("seed %d: %d requests, %d injected failures, %d job attempts", seed, len(fake.Requests()), faults, attempts)
			requests += len(fake.Requests())
			failed += faults
			crs := fake.CheckRuns()
			if len(crs) != 1 {
				t.Fatalf("%d check runs, want 1", len(crs))
			}
			cr := crs[0]
			if diff := cmp.Diff([]string{"queued", "in_progress", "completed:failure"}, cr.History); diff != "" {
				t.Errorf("status history (-want +got):\n%s", diff)
			}
			seen := map[int]bool{}
			for _, a := range cr.Annotations {
				if seen[a.GetStartLine()] {
					t.Errorf("annotation at line %d sent twice", a.GetStartLine())
				}
				seen[a.GetStartLine()] = true
			}
			if len(cr.Annotations) != 120 {
				t.Errorf("%d annotations, want 120", len(cr.Annotations))
			}
		})
	}
	t.Logf("%d of %d requests failed (%.0f%%)", failed, requests, 100*float64(failed)/float64(requests))
	if share := float64(failed) / float64(requests); share < 0.2 {
		t.Errorf("only %.0f%% of requests failed; the test wants about 30%%", 100*share)
	}
}

func TestReportCheckGoneRepositoryCancels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		breakIt func(*githubtest.Server)
	}{
		{"deleted repository", func(f *githubtest.Server) { f.DeleteRepo("octo/calc") }},
		{"uninstalled App", func(f *githubtest.Server) { f.Uninstall(7) }},
		{"validation error", func(f *githubtest.Server) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := githubtest.New(t)
			db := storetest.NewDB(t)
			run := seedRun(t, db)
			tc.breakIt(fake)
			if tc.name == "validation error" {
				// A SHA GitHub does not know: 422, as GitHub answers.
				run.exec(t, `UPDATE runs SET sha = 'not-a-commit' WHERE id = $1`, run.runID)
			}
			w := newWorker(t, db, newTestClient(t, fake.URL))
			job := &river.Job[jobs.ReportCheckArgs]{JobRow: &rivertype.JobRow{ID: 1}, Args: jobs.ReportCheckArgs{RunID: run.runID, Phase: jobs.PhaseQueued}}
			err := w.Work(context.Background(), job)
			var cancel *rivertype.JobCancelError
			if !errors.As(err, &cancel) {
				t.Errorf("got %v, want the job cancelled", err)
			}
			entries, err := store.ListAudit(context.Background(), db, "run", run.runID, 10)
			if err != nil || len(entries) != 1 || entries[0].Action != "report.check.cancelled" {
				t.Errorf("audit log: %+v (%v), want one report.check.cancelled entry", entries, err)
			}
			fake.TakeViolations()
		})
	}
}

func TestReportCheckSnoozesOnRateLimit(t *testing.T) {
	t.Parallel()
	fake, _, run, w := newReportTest(t)
	fake.FailNext(githubtest.Fault{Kind: githubtest.PrimaryRateLimit, RetryAfter: 30 * time.Second, PathPrefix: "/repos/"})
	job := &river.Job[jobs.ReportCheckArgs]{JobRow: &rivertype.JobRow{ID: 1}, Args: jobs.ReportCheckArgs{RunID: run.runID, Phase: jobs.PhaseQueued}}
	err := w.Work(context.Background(), job)
	var snooze *river.JobSnoozeError
	if !errors.As(err, &snooze) || snooze.Duration < 28*time.Second || snooze.Duration > 31*time.Second {
		t.Errorf("got %v, want a snooze of about 30s", err)
	}
}
