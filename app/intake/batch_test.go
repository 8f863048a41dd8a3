package intake_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/sentinel-ci/sentinel/app/apptest"
)

// Pushes to a few branches arriving all at once share transactions (group
// commit) in any grouping, yet each branch ends with exactly one live run,
// every other run superseded by a run of its own branch, and each run's
// jobs, audit rows and delivery outcome in place.
func TestConcurrentPushesLeaveOneLiveRunPerBranch(t *testing.T) {
	ts := apptest.NewServer(t)
	const branches, perBranch = 4, 15
	statuses := make([]int, branches*perBranch)
	// Payloads are built here: a missing fixture must fail the test from
	// its own goroutine, not from a sender's.
	bodies := make([][]byte, len(statuses))
	for i := range bodies {
		bodies[i] = apptest.PushPayload(t, fmt.Sprintf("b%d", i%branches), fmt.Sprintf("%040x", i+1), "change")
	}
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = ts.Deliver(t, "push", "", bodies[i]).Status
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusAccepted {
			t.Fatalf("delivery %d: status %d", i, s)
		}
	}
	n := len(statuses)
	checks := []struct {
		what string
		sql  string
		want int
	}{
		{"runs", `SELECT count(*) FROM runs`, n},
		{"live runs per branch", `SELECT count(*) FROM (SELECT branch FROM runs WHERE state = 'queued' GROUP BY branch HAVING count(*) = 1) b`, branches},
		{"superseded runs", `SELECT count(*) FROM runs WHERE state = 'cancelled' AND superseded_by IS NOT NULL`, n - branches},
		{"superseded by a run of another branch", `SELECT count(*) FROM runs r JOIN runs by ON by.id = r.superseded_by WHERE by.branch <> r.branch`, 0},
		{"live runs with their execute job", `SELECT count(*) FROM runs r JOIN river_job j ON (j.args->>'run_id')::bigint = r.id
			WHERE r.state = 'queued' AND j.kind = 'run.execute' AND j.state = 'available'`, branches},
		{"execute jobs left to superseded runs", `SELECT count(*) FROM river_job j JOIN runs r ON r.id = (j.args->>'run_id')::bigint
			WHERE j.kind = 'run.execute' AND j.state <> 'cancelled' AND r.state = 'cancelled'`, 0},
		// No check run reached GitHub (no worker runs here): the superseded
		// runs' reports are cancelled unsent, and none is completed.
		{"reports left to superseded runs", `SELECT count(*) FROM river_job j JOIN runs r ON r.id = (j.args->>'run_id')::bigint
			WHERE j.kind = 'report.check' AND j.state <> 'cancelled' AND r.state = 'cancelled'`, 0},
		{"queued reports of live runs", `SELECT count(*) FROM river_job j JOIN runs r ON r.id = (j.args->>'run_id')::bigint
			WHERE j.kind = 'report.check' AND j.args->>'phase' = 'queued' AND r.state = 'queued'`, branches},
		{"run.created audit rows", `SELECT count(*) FROM audit_log WHERE action = 'run.created'`, n},
		{"run.superseded audit rows", `SELECT count(*) FROM audit_log WHERE action = 'run.superseded'`, n - branches},
		{"accepted deliveries naming their run", `SELECT count(*) FROM deliveries d JOIN runs r ON r.id = d.run_ids[1]
			WHERE d.outcome = 'accepted' AND r.delivery_id = d.delivery_id AND d.repository_id = r.repository_id`, n},
	}
	for _, c := range checks {
		if got := ts.Count(t, c.sql); got != c.want {
			t.Errorf("%s: %d, want %d", c.what, got, c.want)
		}
	}
}

// A delivery repeated within one burst is recorded once, however the burst
// is grouped into transactions.
func TestRepeatedDeliveryWithinABurst(t *testing.T) {
	ts := apptest.NewServer(t)
	body := apptest.PushPayload(t, "main", fmt.Sprintf("%040x", 7), "change")
	other := apptest.PushPayload(t, "dev", fmt.Sprintf("%040x", 8), "change")
	outcomes := make([]string, 20)
	var wg sync.WaitGroup
	for i := range outcomes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				outcomes[i], _ = ts.Deliver(t, "push", "same-delivery", body).Body["status"].(string)
			} else {
				outcomes[i], _ = ts.Deliver(t, "push", "", other).Body["status"].(string)
			}
		}()
	}
	wg.Wait()
	accepted, duplicate := 0, 0
	for i, o := range outcomes {
		if i%2 == 0 && o == "accepted" {
			accepted++
		}
		if i%2 == 0 && o == "duplicate" {
			duplicate++
		}
	}
	if accepted != 1 || duplicate != 9 {
		t.Errorf("repeated delivery: %d accepted, %d duplicate; want 1 and 9 (%v)", accepted, duplicate, outcomes)
	}
	if n := ts.Count(t, `SELECT count(*) FROM deliveries WHERE delivery_id = 'same-delivery'`); n != 1 {
		t.Errorf("%d rows for the repeated delivery", n)
	}
	// The other ten are distinct deliveries of one commit: one run.
	if n := ts.Count(t, `SELECT count(*) FROM runs WHERE branch = 'dev'`); n != 1 {
		t.Errorf("%d runs of one commit", n)
	}
	if n := ts.Count(t, `SELECT count(*) FROM deliveries WHERE outcome LIKE 'accepted: run % already exists for this commit'`); n != 9 {
		t.Errorf("%d deliveries told the run already exists, want 9", n)
	}
}
