package githubapp

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/app/githubapp/githubtest"
	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

const quarantinedID = "example.com/calc::TestCase000"

// proposalTest is a repository on the fake GitHub with a flaky test that
// failed in a run, and the workers of quarantine proposals.
type proposalTest struct {
	fake    *githubtest.Server
	run     seededRun
	actions *jobs.Actions
	propose *jobs.QuarantineProposeWorker
	review  *jobs.QuarantineReviewWorker
	testID  int64
	passes  int // runs recorded by passRuns
}

func newProposalTest(t *testing.T) *proposalTest {
	t.Helper()
	fake := githubtest.New(t)
	db := storetest.NewDB(t)
	run := seedRun(t, db)
	run.exec(t, `UPDATE repositories SET default_branch = 'main' WHERE id = $1`, run.repo)
	fake.SetFile("octo/calc", "main", "README.md", "calc\n")
	fake.SetFile("octo/calc", "main", ".github/CODEOWNERS", "# owners\ncalc/ @octo/calc-team\n")
	run.start(t)
	run.finish(t, store.RunFailed, 1, true) // TestCase000, flaky
	rc, err := jobs.NewClient(db, nil, jobs.ClientConfig{}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	gh := newTestClient(t, fake.URL)
	p := &proposalTest{fake: fake, run: run,
		actions: &jobs.Actions{DB: db, River: rc},
		propose: &jobs.QuarantineProposeWorker{DB: db, GitHub: gh, PublicURL: "http://sentinel.test", Log: testLog(t)},
		review:  &jobs.QuarantineReviewWorker{DB: db, GitHub: gh, Log: testLog(t)}}
	if err := db.QueryRow(context.Background(), `SELECT id FROM tests WHERE name = 'TestCase000'`).Scan(&p.testID); err != nil {
		t.Fatal(err)
	}
	return p
}

// quarantineFromButton presses the check run's "Quarantine flaky" button.
func (p *proposalTest) quarantineFromButton(t *testing.T) {
	t.Helper()
	r, err := store.GetRun(context.Background(), p.run.db, p.run.runID)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.run.db.InTx(context.Background(), func(tx pgx.Tx) error { return p.actions.QuarantineFlakyTx(context.Background(), tx, r, "octocat") }); err != nil {
		t.Fatal(err)
	}
}

// workProposals runs every pending proposal's job, as River would: retried
// until it succeeds.
func (p *proposalTest) workProposals(t *testing.T) {
	t.Helper()
	rows, err := p.run.db.Query(context.Background(), `SELECT id FROM quarantine_proposals WHERE state = 'pending' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		for attempt := 1; ; attempt++ {
			err := p.propose.Propose(context.Background(), id)
			if err == nil {
				break
			}
			if attempt == 20 {
				t.Fatalf("proposal %d: %v", id, err)
			}
		}
	}
}

// passRuns records n runs on main in which the test passed.
func (p *proposalTest) passRuns(t *testing.T, n int) {
	t.Helper()
	for range n {
		p.passes++
		id, _, err := store.InsertRun(context.Background(), p.run.db, store.NewRun{RepositoryID: p.run.repo, SHA: fmt.Sprintf("%040d", p.passes),
			Ref: "refs/heads/main", Branch: "main", Trigger: store.TriggerPush})
		if err != nil {
			t.Fatal(err)
		}
		p.run.exec(t, `INSERT INTO test_results (run_id, test_id, outcome) VALUES ($1, $2, 'pass')`, id, p.testID)
	}
}

func (p *proposalTest) proposals(t *testing.T) []string {
	t.Helper()
	rows, err := p.run.db.Query(context.Background(), `SELECT kind || ':' || state FROM quarantine_proposals ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The check run's button quarantines a flaky test and Sentinel proposes it
// for the quarantine file once (a lost answer and a second press change
// nothing); once the pull request is merged and the test has passed its
// next runs, Sentinel proposes taking it out again.
func TestQuarantineProposalOpenedOnceThenRemoved(t *testing.T) {
	t.Parallel()
	p := newProposalTest(t)
	p.quarantineFromButton(t)
	p.fake.FailNext(githubtest.Fault{Kind: githubtest.LostAnswer, Method: "POST", PathPrefix: "/repos/octo/calc/pulls"})
	p.workProposals(t)
	p.quarantineFromButton(t) // pressed again: already quarantined, nothing new
	p.workProposals(t)

	prs := p.fake.PullRequests("octo/calc")
	if len(prs) != 1 || prs[0].State != "open" || prs[0].Base != "main" || !strings.HasPrefix(prs[0].Head, "sentinel/") {
		t.Fatalf("pull requests %+v, want one open from a sentinel/ branch into main", prs)
	}
	file, ok := p.fake.File("octo/calc", prs[0].Head, runner.QuarantineFile)
	if !ok {
		t.Fatalf("no %s on %s", runner.QuarantineFile, prs[0].Head)
	}
	entries, err := runner.ParseQuarantine([]byte(file))
	if err != nil || len(entries) != 1 {
		t.Fatalf("quarantine file %q: %v", file, err)
	}
	e := entries[0]
	if e.ID != quarantinedID || e.Owner != "@octo/calc-team" || e.Issue == 0 || e.Expires.IsZero() || e.Reason == "" {
		t.Errorf("entry %+v, want %s owned by @octo/calc-team (CODEOWNERS) with its issue, reason and expiry", e, quarantinedID)
	}
	if _, onMain := p.fake.File("octo/calc", "main", runner.QuarantineFile); onMain {
		t.Error("the default branch was changed; Sentinel must only propose")
	}
	var fixIssues int
	for _, is := range p.fake.Issues("octo/calc") {
		if strings.HasPrefix(is.Title, "Fix flaky test") {
			fixIssues++
			if is.Number != e.Issue {
				t.Errorf("the entry links #%d, the issue is #%d", e.Issue, is.Number)
			}
		}
	}
	if fixIssues != 1 || !strings.Contains(prs[0].Body, fmt.Sprintf("#%d", e.Issue)) {
		t.Errorf("%d issues to fix the test, pull request body %q: want one, linked", fixIssues, prs[0].Body)
	}

	// A person merges it; the test then passes its next 3 runs.
	if err := p.fake.MergePullRequest("octo/calc", prs[0].Number); err != nil {
		t.Fatal(err)
	}
	if err := store.SetRepositoryFlakyActions(context.Background(), p.run.db, p.run.repo, false, 3); err != nil {
		t.Fatal(err)
	}
	p.passRuns(t, 2)
	if err := p.review.Review(context.Background(), p.actions.River, p.testID); err != nil {
		t.Fatal(err)
	}
	if got := p.proposals(t); len(got) != 1 {
		t.Fatalf("after 2 passing runs of 3: proposals %v, want the addition only", got)
	}
	p.passRuns(t, 1)
	if err := p.review.Review(context.Background(), p.actions.River, p.testID); err != nil {
		t.Fatal(err)
	}
	p.workProposals(t)
	if got := p.proposals(t); strings.Join(got, " ") != "add:merged remove:open" {
		t.Fatalf("proposals %v, want add:merged remove:open", got)
	}
	prs = p.fake.PullRequests("octo/calc")
	if len(prs) != 2 || prs[1].State != "open" || !strings.Contains(prs[1].Title, "out of quarantine") {
		t.Fatalf("pull requests %+v, want the removal open", prs)
	}
	file, _ = p.fake.File("octo/calc", prs[1].Head, runner.QuarantineFile)
	if strings.Contains(file, quarantinedID) {
		t.Errorf("the removal's file still lists the test:\n%s", file)
	}
}

// A test fixed before anyone merged its proposal: Sentinel closes its own
// pull request and deletes its branch.
func TestQuarantineProposalClosedWhenFixedFirst(t *testing.T) {
	t.Parallel()
	p := newProposalTest(t)
	p.quarantineFromButton(t)
	p.workProposals(t)
	p.passRuns(t, jobs.DefaultRecoverRuns)
	if err := p.review.Review(context.Background(), p.actions.River, p.testID); err != nil {
		t.Fatal(err)
	}
	prs := p.fake.PullRequests("octo/calc")
	if len(prs) != 1 || prs[0].State != "closed" || prs[0].Merged {
		t.Fatalf("pull requests %+v, want the proposal closed unmerged", prs)
	}
	for _, b := range p.fake.Branches("octo/calc") {
		if strings.HasPrefix(b, "sentinel/") {
			t.Errorf("branch %s left behind", b)
		}
	}
	if got := p.proposals(t); strings.Join(got, " ") != "add:closed" {
		t.Errorf("proposals %v, want add:closed", got)
	}
}

// A quarantine file on the default branch that does not parse is never
// overwritten: the proposal closes, saying why.
func TestQuarantineProposalLeavesABrokenFileAlone(t *testing.T) {
	t.Parallel()
	p := newProposalTest(t)
	p.fake.SetFile("octo/calc", "main", runner.QuarantineFile, "tests: [{id: a, colour: red}]\n")
	p.quarantineFromButton(t)
	p.workProposals(t)
	if prs := p.fake.PullRequests("octo/calc"); len(prs) != 0 {
		t.Errorf("pull requests %+v over a broken file, want none", prs)
	}
	var note string
	if err := p.run.db.QueryRow(context.Background(), `SELECT state || ': ' || note FROM quarantine_proposals`).Scan(&note); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(note, "closed: ") || !strings.Contains(note, "does not parse") {
		t.Errorf("proposal %q, want closed saying the file does not parse", note)
	}
}
