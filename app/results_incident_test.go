package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sentinel-ci/sentinel/app/githubapp"
	"github.com/sentinel-ci/sentinel/app/githubapp/githubtest"
	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
	"github.com/sentinel-ci/sentinel/triage"
)

// incidentWorld is a repository with an installation, the analysis and
// sync workers, and a fake GitHub.
type incidentWorld struct {
	t      *testing.T
	ctx    context.Context
	db     *store.DB
	rc     *river.Client[pgx.Tx]
	fake   *githubtest.Server
	repoID int64
	an     *jobs.TriageAnalyzeWorker
	sync   *jobs.IncidentSyncWorker
	now    time.Time
	runs   int
}

func newIncidentWorld(t *testing.T, policy triage.IncidentPolicy) *incidentWorld {
	t.Helper()
	ctx := context.Background()
	db := storetest.NewDB(t)
	fake := githubtest.New(t)
	gh, err := githubapp.NewClient(githubapp.Config{AppID: 1, PrivateKey: githubtest.AppKey(t), APIURL: fake.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.UpsertInstallation(ctx, db, store.Installation{ID: 7, AccountLogin: "octo"}); err != nil {
		t.Fatal(err)
	}
	repoID, err := store.UpsertRepository(ctx, db, store.Repository{GitHubID: 1001, InstallationID: 7, FullName: "octo/calc", DefaultBranch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := jobs.NewClient(db, nil, jobs.ClientConfig{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	w := &incidentWorld{t: t, ctx: ctx, db: db, rc: rc, fake: fake, repoID: repoID, now: time.Now()}
	w.an = &jobs.TriageAnalyzeWorker{DB: db, Incidents: policy}
	w.sync = &jobs.IncidentSyncWorker{DB: db, GitHub: gh, PublicURL: "http://sentinel.test", Policy: policy,
		Now: func() time.Time { return w.now }}
	return w
}

// run records and analyses a default-branch run in which the named tests
// fail, then syncs every incident it changed. It returns those incidents.
func (w *incidentWorld) run(failing ...string) []int64 {
	w.t.Helper()
	w.runs++
	ids := w.runNoSync(failing...)
	for _, in := range ids {
		w.syncOnce(in)
	}
	return ids
}

// runNoSync is run without the syncs, for run number w.runs.
func (w *incidentWorld) runNoSync(failing ...string) []int64 {
	w.t.Helper()
	fail := map[string]bool{}
	for _, f := range failing {
		fail[f] = true
	}
	var cases []triage.TestCase
	for i := 0; i < 12; i++ {
		name := fmt.Sprintf("Test%02d", i)
		tc := triage.TestCase{Package: "octo/calc", Name: name, Attempt: 1, Outcome: triage.OutcomePass}
		if fail[name] {
			tc.Outcome, tc.Message = triage.OutcomeFail, name+": expected 3, got 4"
		}
		cases = append(cases, tc)
	}
	var id int64
	sha := fmt.Sprintf("%040d", w.runs)
	err := w.db.InTx(w.ctx, func(tx pgx.Tx) error {
		var err error
		id, _, err = jobs.RecordExternalRun(w.ctx, tx, w.rc, jobs.ExternalResults{RepositoryID: w.repoID, SHA: sha,
			Branch: "main", ExternalID: "gha-" + sha, Results: &triage.Results{Format: "junit", Tests: cases}})
		return err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	res, err := w.an.Analyze(w.ctx, w.rc, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return res.Incidents
}

// syncOnce works one incident.sync; a throttled comment is not an error.
func (w *incidentWorld) syncOnce(id int64) {
	w.t.Helper()
	err := w.sync.Sync(w.ctx, id)
	var snooze *river.JobSnoozeError
	if err != nil && !errors.As(err, &snooze) {
		w.t.Fatalf("sync incident %d: %v", id, err)
	}
}

func (w *incidentWorld) incident(id int64) store.Incident {
	w.t.Helper()
	in, err := store.GetIncident(w.ctx, w.db, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return in
}

func TestIncidentLifecycleWithGitHub(t *testing.T) {
	t.Parallel()
	w := newIncidentWorld(t, triage.IncidentPolicy{RedStreak: 50})
	if got := w.run("Test03"); len(got) != 0 {
		t.Fatalf("incident after one failing run: %v", got)
	}
	w.run("Test03")
	opened := w.run("Test03")
	if len(opened) != 1 {
		t.Fatalf("third failing run in 24h: incidents %v, want one", opened)
	}
	id := opened[0]
	in := w.incident(id)
	if in.Status != "open" || in.IssueNumber == 0 || in.NeedsHuman || in.FirstBadSHA != fmt.Sprintf("%040d", 1) {
		t.Fatalf("opened incident: %+v", in)
	}
	issues := w.fake.Issues("octo/calc")
	if len(issues) != 1 || !strings.Contains(issues[0].Body, "<!-- sentinel:fingerprint="+in.Fingerprint+" -->") {
		t.Fatalf("issues: %+v", issues)
	}
	for _, l := range []string{"sentinel", "incident", "test"} {
		if !hasString(issues[0].Labels, l) {
			t.Errorf("issue labels %v lack %q", issues[0].Labels, l)
		}
	}

	// A new occurrence within the hour is throttled, then told once.
	w.run("Test03")
	if n := len(w.fake.Issues("octo/calc")[0].Comments); n != 0 {
		t.Fatalf("comment not throttled: %d comments", n)
	}
	w.now = w.now.Add(2 * time.Hour)
	w.syncOnce(id)
	w.syncOnce(id)
	if n := len(w.fake.Issues("octo/calc")[0].Comments); n != 1 {
		t.Fatalf("occurrence comments: %d, want 1", n)
	}

	// Clean runs: mitigating, then resolved after three; the issue closes.
	w.run()
	if st := w.incident(id).Status; st != "mitigating" {
		t.Fatalf("after a clean run: %s", st)
	}
	w.run()
	w.run()
	in = w.incident(id)
	if in.Status != "resolved" || !strings.Contains(in.Postmortem, "What fixed it") {
		t.Fatalf("after three clean runs: %s, postmortem %q", in.Status, in.Postmortem)
	}
	is := w.fake.Issues("octo/calc")[0]
	if is.State != "closed" || is.StateReason != "completed" || !strings.Contains(is.Comments[len(is.Comments)-1].Body, "Postmortem") {
		t.Fatalf("issue after resolution: %s/%s %+v", is.State, is.StateReason, is.Comments)
	}

	// Regression: the same incident reopens, and so does its issue.
	w.run("Test03")
	in = w.incident(id)
	is = w.fake.Issues("octo/calc")[0]
	if in.Status != "open" || in.ReopenCount != 1 || is.State != "open" || len(w.fake.Issues("octo/calc")) != 1 {
		t.Fatalf("after regression: incident %s (reopened %d), issue %s, %d issues", in.Status, in.ReopenCount, is.State, len(w.fake.Issues("octo/calc")))
	}
	events, err := store.IncidentEvents(w.ctx, w.db, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, e := range events {
		kinds[string(e.Kind)] = true
	}
	for _, k := range []string{"opened", "occurrence", "status", "resolved", "reopened", "github"} {
		if !kinds[k] {
			t.Errorf("timeline lacks %q: %+v", k, events)
		}
	}
	var audits int
	if err := w.db.QueryRow(w.ctx, `SELECT count(*) FROM audit_log WHERE subject_type = 'incident' AND subject_id = $1`, id).Scan(&audits); err != nil {
		t.Fatal(err)
	}
	if audits < 4 {
		t.Errorf("audit entries for the incident: %d, want every transition", audits)
	}
}

func TestIncidentDailyBudgetAndWidespread(t *testing.T) {
	t.Parallel()
	w := newIncidentWorld(t, triage.IncidentPolicy{RedStreak: 50, DailyBudget: 2})
	var opened []int64
	for i := 0; i < 3; i++ {
		opened = append(opened, w.run("Test01", "Test02", "Test03")...)
	}
	if len(opened) != 2 || len(w.fake.Issues("octo/calc")) != 2 {
		t.Fatalf("budget of 2: opened %v, issues %d", opened, len(w.fake.Issues("octo/calc")))
	}
	var suppressed int
	if err := w.db.QueryRow(w.ctx, `SELECT count(*) FROM audit_log WHERE action = 'incident.suppressed'`).Scan(&suppressed); err != nil {
		t.Fatal(err)
	}
	if suppressed != 1 {
		t.Fatalf("suppressed audit entries: %d", suppressed)
	}

	// Many clusters at once in another repository: one widespread incident.
	w2 := newIncidentWorld(t, triage.IncidentPolicy{RedStreak: 50})
	var all []int64
	for i := 0; i < 3; i++ {
		all = append(all, w2.run("Test00", "Test01", "Test02", "Test03", "Test04", "Test05", "Test06")...)
	}
	in := w2.incident(all[0])
	if len(all) != 1 || in.Kind != "widespread" || !in.NeedsHuman {
		t.Fatalf("widespread: incidents %v, first %+v", all, in)
	}
	is := w2.fake.Issues("octo/calc")
	if len(is) != 1 || !hasString(is[0].Labels, "needs-human") {
		t.Fatalf("widespread issue: %+v", is)
	}
}

func hasString(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
