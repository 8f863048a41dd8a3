package intake_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/sentinel-ci/sentinel/app/apptest"
	"github.com/sentinel-ci/sentinel/jobs"
)

// pressButton is GitHub's delivery of a press of a check run button on the
// check run of run id, a run of sha in the repository of prPayload.
func pressButton(t *testing.T, identifier, sha string, runID int64, fork bool) []byte {
	return mutate(t, "check_run/requested_action.payload.json", func(p map[string]any) {
		cr := p["check_run"].(map[string]any)
		cr["head_sha"], cr["external_id"] = sha, strconv.FormatInt(runID, 10)
		p["requested_action"] = map[string]any{"identifier": identifier}
		var pr map[string]any
		json.Unmarshal(prPayload(t, "opened", sha, fork), &pr)
		p["repository"], p["installation"] = pr["repository"], pr["installation"]
	})
}

// TestRerunFailedButtonRerunsFailuresOnly: the check run's "Re-run failed"
// makes the next attempt of the run a failed-only one (failed_only_of),
// queued with its job; for a fork's pull request it awaits approval again
// and nothing is scheduled. GitHub's own re-run of the suite stays whole.
func TestRerunFailedButtonRerunsFailuresOnly(t *testing.T) {
	ts := apptest.NewServer(t)
	for _, fork := range []bool{false, true} {
		sha := "cccc00000000000000000000000000000000000" + map[bool]string{false: "1", true: "2"}[fork]
		r := ts.Deliver(t, "pull_request", "", prPayload(t, "opened", sha, fork))
		if r.Status != http.StatusAccepted {
			t.Fatalf("pull request: %d %v", r.Status, r.Body)
		}
		first := int64(r.Body["runs"].([]any)[0].(float64))
		// Still queued (or awaiting approval): nothing failed yet, refused.
		if r := ts.Deliver(t, "check_run", "", pressButton(t, jobs.ActionRerunFailed, sha, first, fork)); r.Status != http.StatusConflict {
			t.Errorf("fork=%v: Re-run failed of an unfinished run: %d %v, want 409", fork, r.Status, r.Body)
		}
		if _, err := ts.DB.Exec(t.Context(), `UPDATE runs SET state = 'failed' WHERE id = $1`, first); err != nil {
			t.Fatal(err)
		}
		if r := ts.Deliver(t, "check_run", "", pressButton(t, jobs.ActionRerunFailed, sha, first, fork)); r.Status != http.StatusAccepted {
			t.Fatalf("fork=%v: Re-run failed: %d %v", fork, r.Status, r.Body)
		}
		state, jobs := "queued", 1
		if fork {
			state, jobs = "awaiting_approval", 0
		}
		if n := ts.Count(t, `SELECT count(*) FROM runs WHERE sha = $1 AND attempt = 2 AND failed_only_of = $2 AND state = $3`, sha, first, state); n != 1 {
			t.Errorf("fork=%v: no attempt 2 %s re-running the failures of run %d", fork, state, first)
		}
		if n := ts.Count(t, `SELECT count(*) FROM river_job j JOIN runs r ON r.id = (j.args->>'run_id')::bigint
			WHERE j.kind = 'run.execute' AND r.sha = $1 AND r.attempt = 2`, sha); n != jobs {
			t.Errorf("fork=%v: attempt 2 has %d run.execute jobs, want %d", fork, n, jobs)
		}
	}
}
