package store_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
	"github.com/sentinel-ci/sentinel/triage"
)

// newRunForSteps creates a repository and a run to hang steps on.
func newRunForSteps(t *testing.T, db *store.DB) (repoID, runID int64) {
	t.Helper()
	ctx := context.Background()
	repoID, err := store.UpsertRepository(ctx, db, store.Repository{FullName: "octo/steps", CloneURL: "file:///x"})
	if err != nil {
		t.Fatal(err)
	}
	runID, _, err = store.InsertRun(ctx, db, store.NewRun{RepositoryID: repoID, SHA: strings.Repeat("a", 40), Trigger: "api"})
	if err != nil {
		t.Fatal(err)
	}
	return repoID, runID
}

func TestStepLifecycle(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	_, runID := newRunForSteps(t, db)
	ctx := context.Background()

	build, a1, err := store.InsertStep(ctx, db, store.NewStep{RunID: runID, Position: 0, Name: "build"})
	if err != nil || a1 != 1 {
		t.Fatalf("attempt %d err %v", a1, err)
	}
	test, _, err := store.InsertStep(ctx, db, store.NewStep{RunID: runID, Position: 1, Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.StartStep(ctx, db, build, "img", "make"); err != nil {
		t.Fatal(err)
	}
	// A worker lost mid-step: the running step is errored, the pending one too.
	n, err := store.AbandonSteps(ctx, db, runID, triage.StepErrored, "worker lost")
	if err != nil || n != 2 {
		t.Fatalf("abandoned %d, %v", n, err)
	}
	// Finishing an abandoned step changes nothing.
	zero := 0
	if err := store.FinishStep(ctx, db, build, store.StepEnd{State: triage.StepSucceeded, ExitCode: &zero}); err != nil {
		t.Fatal(err)
	}
	// The next execution gets the next attempt at the same position.
	_, a2, err := store.InsertStep(ctx, db, store.NewStep{RunID: runID, Position: 0, Name: "build", State: triage.StepRunning})
	if err != nil || a2 != 2 {
		t.Fatalf("attempt %d err %v", a2, err)
	}
	steps, err := store.ListSteps(ctx, db, runID)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Name, State, Error string
		Attempt            int
	}
	var got []row
	for _, s := range steps {
		got = append(got, row{s.Name, string(s.State), s.Error, s.Attempt})
	}
	want := []row{{"build", "errored", "worker lost", 1}, {"build", "running", "", 2}, {"test", "errored", "worker lost", 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if s, err := store.GetStep(ctx, db, test); err != nil || s.FinishedAt == nil {
		t.Errorf("step %+v err %v", s, err)
	}
}

func TestLogChunksAndNotify(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	_, runID := newRunForSteps(t, db)
	ctx := context.Background()
	stepID, _, err := store.InsertStep(ctx, db, store.NewStep{RunID: runID, Name: "s", State: triage.StepRunning})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.ListenLogs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for seq, data := range []string{"one\ntwo\n", "three\n"} {
		c := store.LogChunk{StepID: stepID, Seq: seq + 1, FirstLine: 1 + 2*seq, Data: []byte(data)}
		if err := store.AppendLogChunk(ctx, db, runID, c); err != nil {
			t.Fatal(err)
		}
		// A retried flush of the same chunk is harmless.
		if err := store.AppendLogChunk(ctx, db, runID, c); err != nil {
			t.Fatal(err)
		}
	}
	log, err := store.StepLog(ctx, db, stepID)
	if err != nil || string(log) != "one\ntwo\nthree\n" {
		t.Fatalf("log %q err %v", log, err)
	}
	tail, err := store.LogChunks(ctx, db, stepID, 1, 10)
	if err != nil || len(tail) != 1 || tail[0].FirstLine != 3 {
		t.Fatalf("tail %+v err %v", tail, err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var payloads []string
	for len(payloads) < 2 {
		n, err := conn.WaitForNotification(waitCtx)
		if err != nil {
			t.Fatalf("after %v: %v", payloads, err)
		}
		payloads = append(payloads, n.Payload)
	}
	want := []string{fmtIDs(runID, stepID, 1), fmtIDs(runID, stepID, 2)}
	if diff := cmp.Diff(want, payloads); diff != "" {
		t.Errorf("notifications (-want +got)\n%s", diff)
	}
}

func fmtIDs(run, step int64, seq int) string {
	return strings.Join([]string{itoa(run), itoa(step), itoa(int64(seq))}, " ")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestRecordTestResults(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	repoID, runID := newRunForSteps(t, db)
	ctx := context.Background()
	stepID, _, err := store.InsertStep(ctx, db, store.NewStep{RunID: runID, Name: "test", State: triage.StepRunning})
	if err != nil {
		t.Fatal(err)
	}
	first := []triage.TestCase{
		{Package: "m/p", Name: "TestA", Outcome: triage.OutcomePass, Duration: 1500 * time.Millisecond},
		{Package: "m/p", Name: "TestFlaky", Outcome: "fail", File: "p_test.go", Line: 12, Message: "boom"},
	}
	record := func(attempt int, cases []triage.TestCase) {
		t.Helper()
		if err := db.InTx(ctx, func(tx pgx.Tx) error {
			return store.RecordTestResults(ctx, tx, repoID, runID, stepID, attempt, cases)
		}); err != nil {
			t.Fatal(err)
		}
	}
	record(1, first)
	retry := []triage.TestCase{{Package: "m/p", Name: "TestFlaky", Outcome: triage.OutcomePass}}
	record(2, retry)
	got, err := store.ListTestResults(ctx, db, runID)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Name, Outcome string
		Attempt       int
		Duration      time.Duration
		Line          int
	}
	var rows []row
	for _, r := range got {
		rows = append(rows, row{r.Name, r.Outcome, r.Attempt, r.Duration, r.Line})
	}
	want := []row{{"TestA", "pass", 1, 1500 * time.Millisecond, 0}, {"TestFlaky", "fail", 1, 0, 12}, {"TestFlaky", "pass", 2, 0, 0}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if got[1].TestID != got[2].TestID {
		t.Errorf("the same test got two identities: %d and %d", got[1].TestID, got[2].TestID)
	}
}

// TestRecordTestResultsWithNULAndInvalidUTF8: what tests print is stored,
// with NUL bytes and invalid UTF-8 replaced, instead of PostgreSQL refusing
// the step's results whole.
func TestRecordTestResultsWithNULAndInvalidUTF8(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	repoID, runID := newRunForSteps(t, db)
	ctx := context.Background()
	stepID, _, err := store.InsertStep(ctx, db, store.NewStep{RunID: runID, Name: "test", State: triage.StepRunning})
	if err != nil {
		t.Fatal(err)
	}
	cases := []triage.TestCase{
		{Package: "m/p", Name: "TestNUL\x00name", Outcome: triage.OutcomeFail, File: "p\x00_test.go", Message: "got \x00\xff\xfe want ok"},
		{Package: "m/\xc3", Name: "TestLatin1 caf\xe9", Outcome: triage.OutcomePass},
	}
	if err := db.InTx(ctx, func(tx pgx.Tx) error {
		return store.RecordTestResults(ctx, tx, repoID, runID, stepID, 1, cases)
	}); err != nil {
		t.Fatal(err)
	}
	if cases[0].Name != "TestNUL\x00name" {
		t.Error("the caller's cases were changed")
	}
	got, err := store.ListTestResults(ctx, db, runID)
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ Package, Name, File, Message string }
	var rows []row
	for _, r := range got {
		rows = append(rows, row{r.Package, r.Name, r.File, r.Message})
	}
	want := []row{
		{"m/p", "TestNUL␀name", "p␀_test.go", "got ␀\uFFFD want ok"},
		{"m/\uFFFD", "TestLatin1 caf\uFFFD", "", ""},
	}
	if diff := cmp.Diff(want, rows, cmpopts.SortSlices(func(a, b row) bool { return a.Name < b.Name })); diff != "" {
		t.Errorf("stored results (-want +got)\n%s", diff)
	}
}

// TestStepStoppedPackages: how many packages a panic or a timeout ended is
// kept with the step and read back by ListSteps and GetStep.
func TestStepStoppedPackages(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	_, runID := newRunForSteps(t, db)
	ctx := context.Background()
	id, _, err := store.InsertStep(ctx, db, store.NewStep{RunID: runID, Name: "test", State: triage.StepRunning})
	if err != nil {
		t.Fatal(err)
	}
	one := 1
	if err := store.FinishStep(ctx, db, id, store.StepEnd{State: triage.StepFailed, ExitCode: &one, StoppedPackages: 3}); err != nil {
		t.Fatal(err)
	}
	steps, err := store.ListSteps(ctx, db, runID)
	if err != nil || len(steps) != 1 || steps[0].StoppedPackages != 3 {
		t.Fatalf("ListSteps: %+v, %v", steps, err)
	}
	s, err := store.GetStep(ctx, db, id)
	if err != nil || s.StoppedPackages != 3 {
		t.Fatalf("GetStep: %+v, %v", s, err)
	}
}
