package intake_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/sentinel-ci/sentinel/app/apptest"
	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
)

func mutate(t *testing.T, rel string, f func(p map[string]any)) []byte {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(apptest.Fixture(t, rel), &p); err != nil {
		t.Fatal(err)
	}
	f(p)
	b, _ := json.Marshal(p)
	return b
}

func prPayload(t *testing.T, action, sha string, fork bool) []byte {
	return mutate(t, "pull_request/synchronize.payload.json", func(p map[string]any) {
		p["action"] = action
		pr := p["pull_request"].(map[string]any)
		head := pr["head"].(map[string]any)
		head["sha"] = sha
		if fork {
			repo := head["repo"].(map[string]any)
			repo["full_name"] = "mallory/Hello-World"
			repo["clone_url"] = "https://github.com/mallory/Hello-World.git"
		}
		p["installation"] = map[string]any{"id": 5}
	})
}

// A newer commit of a pull request supersedes the earlier run and deletes
// its waiting jobs. A run whose check run never reached GitHub gets no
// completed report (GitHub never hears of it); one whose check run did gets
// its check run completed.
func TestPullRequestSupersedesEarlierRun(t *testing.T) {
	ts := apptest.NewServer(t)
	runOf := func(sha string) int64 {
		t.Helper()
		r := ts.Deliver(t, "pull_request", "", prPayload(t, "synchronize", sha, false))
		if r.Status != http.StatusAccepted {
			t.Fatalf("delivery of %s: %d %v", sha, r.Status, r.Body)
		}
		return int64(r.Body["runs"].([]any)[0].(float64))
	}
	jobs := func(runID int64, kind, phase, state string) int {
		return ts.Count(t, `SELECT count(*) FROM river_job WHERE kind = $2 AND (args->>'run_id')::bigint = $1
			AND COALESCE(args->>'phase', '') = $3 AND state::text = $4`, runID, kind, phase, state)
	}
	firstID := runOf("aaaa000000000000000000000000000000000001")
	secondID := runOf("aaaa000000000000000000000000000000000002")
	old, _ := store.GetRun(context.Background(), ts.DB, firstID)
	if old.State != store.RunCancelled || old.SupersededBy != secondID {
		t.Errorf("first run: state %s superseded_by %d, want cancelled by %d", old.State, old.SupersededBy, secondID)
	}
	// Waiting jobs of a superseded run are deleted (store.SupersedeRunsBatch).
	waiting := func(runID int64, kind, phase string) int {
		return ts.Count(t, `SELECT count(*) FROM river_job WHERE kind = $2 AND (args->>'run_id')::bigint = $1
			AND COALESCE(args->>'phase', '') = $3`, runID, kind, phase)
	}
	if waiting(firstID, "run.execute", "") != 0 || waiting(firstID, "report.check", "queued") != 0 {
		t.Errorf("the superseded run's execute job and unsent report are still there")
	}
	if n := jobs(firstID, "report.check", "completed", "available"); n != 0 {
		t.Errorf("%d completed reports for a run GitHub never heard of", n)
	}
	if r, _ := store.GetRun(context.Background(), ts.DB, secondID); r.State != store.RunQueued || r.PRNumber == 0 || r.Trigger != "pull_request" {
		t.Errorf("second run: %+v", r)
	}

	// The second run's queued report reaches GitHub, as a worker would send it.
	if err := store.SetCheckRunID(context.Background(), ts.DB, secondID, 4242); err != nil {
		t.Fatal(err)
	}
	tag, err := ts.DB.Exec(context.Background(), `UPDATE river_job SET state = 'completed', attempt = 1, finalized_at = now()
		WHERE kind = 'report.check' AND (args->>'run_id')::bigint = $1`, secondID)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("the second run's queued report: %v, %v", tag, err)
	}
	runOf("aaaa000000000000000000000000000000000003")
	if waiting(secondID, "run.execute", "") != 0 || jobs(secondID, "report.check", "completed", "available") != 1 {
		t.Errorf("the run GitHub heard of: execute job still there or check run not completed")
	}
}

func TestForkedPullRequestAwaitsApproval(t *testing.T) {
	ts := apptest.NewServer(t)
	r := ts.Deliver(t, "pull_request", "", prPayload(t, "opened", "bbbb000000000000000000000000000000000001", true))
	if r.Status != http.StatusAccepted {
		t.Fatalf("fork PR: %d %v", r.Status, r.Body)
	}
	id := int64(r.Body["runs"].([]any)[0].(float64))
	run, _ := store.GetRun(context.Background(), ts.DB, id)
	if run.State != store.RunAwaitingApproval || run.HeadRepo != "mallory/Hello-World" || run.CloneURL == "" {
		t.Errorf("fork run: %+v", run)
	}
	if n := ts.Count(t, "SELECT count(*) FROM river_job WHERE kind = 'run.execute'"); n != 0 {
		t.Errorf("a fork's code was scheduled to run before approval (%d jobs)", n)
	}
}

// GitHub's re-run of a fork's check suite that nobody approved is refused,
// as the dashboard and the API refuse it: it would run the fork's code.
func TestRerunRequestOfRunAwaitingApprovalIsRefused(t *testing.T) {
	ts := apptest.NewServer(t)
	const sha = "bbbb000000000000000000000000000000000002"
	if r := ts.Deliver(t, "pull_request", "", prPayload(t, "opened", sha, true)); r.Status != http.StatusAccepted {
		t.Fatalf("fork PR: %d %v", r.Status, r.Body)
	}
	suite := mutate(t, "check_suite/rerequested.payload.json", func(p map[string]any) {
		p["check_suite"].(map[string]any)["head_sha"] = sha
		var pr map[string]any
		json.Unmarshal(prPayload(t, "opened", sha, true), &pr)
		p["repository"], p["installation"] = pr["repository"], pr["installation"]
	})
	if r := ts.Deliver(t, "check_suite", "", suite); r.Status != http.StatusConflict || r.Body["error"] == nil {
		t.Fatalf("re-run request: %d %v, want 409 with the reason", r.Status, r.Body)
	}
	if n := ts.Count(t, "SELECT count(*) FROM runs WHERE sha = $1", sha); n != 1 {
		t.Errorf("%d runs of the fork's commit, want 1", n)
	}
	if n := ts.Count(t, "SELECT count(*) FROM deliveries WHERE event = 'check_suite' AND outcome LIKE 'refused: %awaits approval%'"); n != 1 {
		t.Errorf("the refused request is not recorded as such")
	}
}

// A fork's run that was cancelled before anyone approved it, re-requested
// from GitHub, becomes a new attempt that awaits approval again: nothing of
// the fork's code is scheduled.
func TestRerunRequestOfCancelledForkRunAwaitsApproval(t *testing.T) {
	ts := apptest.NewServer(t)
	const sha = "bbbb000000000000000000000000000000000003"
	r := ts.Deliver(t, "pull_request", "", prPayload(t, "opened", sha, true))
	if r.Status != http.StatusAccepted {
		t.Fatalf("fork PR: %d %v", r.Status, r.Body)
	}
	first := int64(r.Body["runs"].([]any)[0].(float64))
	if err := (&jobs.Actions{DB: ts.DB, River: ts.River}).Cancel(context.Background(), first, "dashboard:admin"); err != nil {
		t.Fatal(err)
	}
	suite := mutate(t, "check_suite/rerequested.payload.json", func(p map[string]any) {
		p["check_suite"].(map[string]any)["head_sha"] = sha
		var pr map[string]any
		json.Unmarshal(prPayload(t, "opened", sha, true), &pr)
		p["repository"], p["installation"] = pr["repository"], pr["installation"]
	})
	if r := ts.Deliver(t, "check_suite", "", suite); r.Status != http.StatusAccepted {
		t.Fatalf("re-run request: %d %v, want 202", r.Status, r.Body)
	}
	if n := ts.Count(t, "SELECT count(*) FROM runs WHERE sha = $1 AND attempt = 2 AND state = 'awaiting_approval' AND fork", sha); n != 1 {
		t.Errorf("the re-run of the cancelled fork run does not await approval")
	}
	if n := ts.Count(t, "SELECT count(*) FROM river_job WHERE kind = 'run.execute'"); n != 0 {
		t.Errorf("a fork's code was scheduled to run before approval (%d jobs)", n)
	}
}

func TestCheckSuiteRerequestedCreatesNextAttempt(t *testing.T) {
	ts := apptest.NewServer(t)
	suite := mutate(t, "check_suite/rerequested.payload.json", func(p map[string]any) {})
	var p struct {
		CheckSuite struct {
			HeadSHA    string `json:"head_sha"`
			HeadBranch string `json:"head_branch"`
		} `json:"check_suite"`
	}
	json.Unmarshal(suite, &p)
	// Nothing ran for that commit yet: ignored with a reason.
	if r := ts.Deliver(t, "check_suite", "", suite); r.Status != http.StatusOK || r.Body["status"] != "ignored" {
		t.Fatalf("rerequest with no earlier run: %d %v", r.Status, r.Body)
	}
	push := mutate(t, "push/with-new-branch.payload.json", func(m map[string]any) {
		m["after"] = p.CheckSuite.HeadSHA
		m["ref"] = "refs/heads/" + p.CheckSuite.HeadBranch
		repo := m["repository"].(map[string]any)
		var s map[string]any
		json.Unmarshal(suite, &s)
		m["repository"] = s["repository"]
		_ = repo
	})
	if r := ts.Deliver(t, "push", "", push); r.Status != http.StatusAccepted {
		t.Fatalf("push: %d %v", r.Status, r.Body)
	}
	r := ts.Deliver(t, "check_suite", "", suite)
	if r.Status != http.StatusAccepted {
		t.Fatalf("rerequest: %d %v", r.Status, r.Body)
	}
	if n := ts.Count(t, "SELECT count(*) FROM runs WHERE sha = $1 AND attempt = 2 AND failed_only_of IS NULL", p.CheckSuite.HeadSHA); n != 1 {
		t.Errorf("want attempt 2 of the commit, whole, have %d", n)
	}
	if n := ts.Count(t, "SELECT count(*) FROM river_job WHERE kind = 'run.execute'"); n != 2 {
		t.Errorf("%d run.execute jobs, want 2", n)
	}
}

func TestInstallationLifecycle(t *testing.T) {
	ts := apptest.NewServer(t)
	created := apptest.Fixture(t, "installation/created.payload.json")
	var p struct {
		Installation struct{ ID int64 }   `json:"installation"`
		Repositories []struct{ ID int64 } `json:"repositories"`
	}
	json.Unmarshal(created, &p)
	step := func(event, rel string, wantState string) {
		t.Helper()
		body := mutate(t, rel, func(m map[string]any) { m["installation"].(map[string]any)["id"] = p.Installation.ID })
		if r := ts.Deliver(t, event, "", body); r.Status != http.StatusAccepted {
			t.Fatalf("%s: %d %v", rel, r.Status, r.Body)
		}
		if n := ts.Count(t, "SELECT count(*) FROM installations WHERE id = $1 AND state = $2", p.Installation.ID, wantState); n != 1 {
			t.Errorf("after %s the installation is not %s", rel, wantState)
		}
	}
	step("installation", "installation/created.payload.json", "active")
	if n := ts.Count(t, "SELECT count(*) FROM repositories WHERE installation_id = $1 AND active", p.Installation.ID); n != len(p.Repositories) {
		t.Errorf("%d active repositories, want %d from the payload", n, len(p.Repositories))
	}
	step("installation_repositories", "installation_repositories/added.payload.json", "active")
	// The removed fixture names octocat/Hello-World (id 1296269): have it first.
	if _, err := store.UpsertRepository(context.Background(), ts.DB, store.Repository{GitHubID: 1296269, FullName: "octocat/Hello-World"}); err != nil {
		t.Fatal(err)
	}
	step("installation_repositories", "installation_repositories/removed.payload.json", "active")
	if n := ts.Count(t, "SELECT count(*) FROM repositories WHERE github_id = 1296269 AND active"); n != 0 {
		t.Error("a repository removed from the installation is still active")
	}
	step("installation", "installation/suspend.payload.json", "suspended")
	step("installation", "installation/unsuspend.payload.json", "active")
	step("installation", "installation/deleted.payload.json", "deleted")
	if n := ts.Count(t, "SELECT count(*) FROM repositories WHERE installation_id = $1 AND active", p.Installation.ID); n != 0 {
		t.Errorf("%d repositories still active after the App was uninstalled", n)
	}
	if n := ts.Count(t, "SELECT count(*) FROM audit_log WHERE action LIKE 'installation%'"); n != 6 {
		t.Errorf("%d installation audit rows, want 6", n)
	}
}

func TestReplayRespectsRunIdentity(t *testing.T) {
	ts := apptest.NewServer(t)
	body := apptest.PushPayload(t, "main", "cccc000000000000000000000000000000000001", "replay me")
	if r := ts.Deliver(t, "push", "to-replay", body); r.Status != http.StatusAccepted {
		t.Fatal(r)
	}
	res, err := ts.Intake.Replay(context.Background(), "to-replay")
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != "accepted" || len(res.RunIDs) != 1 {
		t.Errorf("replay: %+v", res)
	}
	if n := ts.Count(t, "SELECT count(*) FROM runs"); n != 1 {
		t.Errorf("%d runs after replay, want 1", n)
	}
	if n := ts.Count(t, "SELECT count(*) FROM deliveries WHERE replayed_at IS NOT NULL"); n != 1 {
		t.Error("replayed_at not stamped")
	}
	if _, err := ts.Intake.Replay(context.Background(), "never-seen"); err == nil {
		t.Error("replaying an unknown delivery must fail")
	}
}

// A push naming a clone URL off the GitHub host is malformed: the runner
// would fetch and run code from wherever the payload points.
func TestPushWithForeignCloneURLIsMalformed(t *testing.T) {
	ts := apptest.NewServer(t)
	body := mutate(t, "push/with-new-branch.payload.json", func(p map[string]any) {
		p["repository"].(map[string]any)["clone_url"] = "https://evil.example/octo/app.git"
	})
	if r := ts.Deliver(t, "push", "", body); r.Status != http.StatusBadRequest {
		t.Fatalf("push from another host: %d %v, want 400", r.Status, r.Body)
	}
	if n := ts.Count(t, "SELECT count(*) FROM runs"); n != 0 {
		t.Errorf("%d runs from a foreign clone URL", n)
	}
}
