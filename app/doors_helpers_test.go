package app

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/sentinel-ci/sentinel/store/storetest"
)

// The doors of an action are the ways a person reaches it: a dashboard
// form, the JSON API, and a check run button (a signed webhook delivery).
// Each action is one implementation (jobs.Actions); these tests drive
// every door of each over HTTP, from the same starting state, and assert
// the same status and the same state after.

const doorSecret = "door-secret"

// doorRepoGitHubID is the GitHub id of octo/app, which button deliveries
// name.
const doorRepoGitHubID = 4242

// noSuchID is an id that names nothing.
const noSuchID = 999999

// doorServer serves every route of a Server over a fresh database.
type doorServer struct {
	*dashServer
	c    *http.Client // keeps the CSRF cookie, does not follow redirects
	csrf string
	repo int64
	seq  atomic.Int64
}

func newDoorServer(t *testing.T) *doorServer {
	t.Helper()
	db := storetest.NewDB(t)
	ds := newDashServerOn(t, db, Options{WebhookSecret: doorSecret})
	hs := httptest.NewServer(ds.Handler()) // every route, the webhook's included
	t.Cleanup(hs.Close)
	ds.url = hs.URL
	d := &doorServer{dashServer: ds, c: browserlessClient(t)}
	d.csrf = csrfFrom(t, d.c, ds.url+"/login")
	if err := db.QueryRow(context.Background(), `INSERT INTO repositories (github_id, full_name, clone_url, default_branch)
		VALUES ($1, 'octo/app', 'https://github.com/octo/app.git', 'main') RETURNING id`, doorRepoGitHubID).Scan(&d.repo); err != nil {
		t.Fatal(err)
	}
	return d
}

// door is one way to an action: it acts on the subject id and returns the
// HTTP status.
type door struct {
	name string
	act  func(t *testing.T, d *doorServer, id int64) int
}

// formDoor posts a dashboard form to path (with %d for the id).
func formDoor(path string, fields ...string) door {
	return door{"form", func(t *testing.T, d *doorServer, id int64) int {
		v := url.Values{"csrf": {d.csrf}}
		for i := 0; i+1 < len(fields); i += 2 {
			v.Set(fields[i], fields[i+1])
		}
		status, _, _ := postForm(t, d.c, d.url+fmt.Sprintf(path, id), v)
		return status
	}}
}

// apiDoor posts a JSON body to the API's path (with %d for the id).
func apiDoor(path, body string) door {
	return door{"api", func(t *testing.T, d *doorServer, id int64) int {
		status, _ := apiDo(t, "POST", d.url+fmt.Sprintf(path, id), body)
		return status
	}}
}

// buttonDoor delivers octocat's press of a check run button on the check
// run of run id, as GitHub sends it.
func buttonDoor(identifier string) door {
	return door{"button", func(t *testing.T, d *doorServer, id int64) int {
		sha := fmt.Sprintf("%040x", 0xdead) // a commit no run has, for an unknown run
		d.dashServer.DB.QueryRow(context.Background(), `SELECT sha FROM runs WHERE id = $1`, id).Scan(&sha)
		body := fmt.Appendf(nil, `{"action": "requested_action",
			"check_run": {"id": 1, "head_sha": %q, "external_id": "%d"},
			"requested_action": {"identifier": %q},
			"repository": {"id": %d, "full_name": "octo/app", "clone_url": "https://github.com/octo/app.git", "default_branch": "main"},
			"installation": {"id": 77}, "sender": {"login": "octocat"}}`, sha, id, identifier, doorRepoGitHubID)
		req, _ := http.NewRequest("POST", d.url+"/webhooks/github", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "check_run")
		req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("press-%d", d.seq.Add(1)))
		req.Header.Set("X-Hub-Signature-256", Sign(doorSecret, body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}}
}

// actorOf is who acts through a door, for the audit log.
func actorOf(door string) string {
	return map[string]string{"form": "dashboard:anonymous", "api": "api:anonymous", "button": "github:octocat"}[door]
}

// doorCase is one behaviour of an action: a fresh subject in a given
// state, the status every door answers (http.StatusOK for any success:
// the form's redirect, the API's 200 or 201, the webhook's 202), and the
// state after, the same whatever the door.
type doorCase struct {
	name   string
	setup  func(t *testing.T, d *doorServer) int64
	want   int
	wantBy map[string]int // a door that answers otherwise, and why in the case's name
	check  func(t *testing.T, d *doorServer, door string, id int64)
}

func testDoors(t *testing.T, d *doorServer, doors []door, cases []doorCase) {
	t.Helper()
	for _, c := range cases {
		for _, dr := range doors {
			t.Run(c.name+"/"+dr.name, func(t *testing.T) {
				id := c.setup(t, d)
				got := dr.act(t, d, id)
				if got == http.StatusSeeOther || got/100 == 2 {
					got = http.StatusOK
				}
				want := c.want
				if w, ok := c.wantBy[dr.name]; ok {
					want = w
				}
				if got != want {
					t.Fatalf("status %d, want %d", got, want)
				}
				if c.check != nil {
					c.check(t, d, dr.name, id)
				}
			})
		}
	}
}

func (d *doorServer) next() int64 { return d.seq.Add(1) }

func (d *doorServer) insert(t *testing.T, sql string, args ...any) int64 {
	t.Helper()
	var id int64
	if err := d.DB.QueryRow(context.Background(), sql, args...).Scan(&id); err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
	return id
}

// run inserts a run of octo/app's main branch in state.
func (d *doorServer) run(t *testing.T, state string) int64 {
	t.Helper()
	return d.insert(t, `INSERT INTO runs (repository_id, sha, ref, branch, trigger, state, pr_number, head_repo)
		VALUES ($1, $2, 'refs/heads/main', 'main', CASE WHEN $3 = 'awaiting_approval' THEN 'pull_request' ELSE 'push' END, $3,
			CASE WHEN $3 = 'awaiting_approval' THEN 7 END, CASE WHEN $3 = 'awaiting_approval' THEN 'stranger/app' ELSE '' END)
		RETURNING id`, d.repo, fmt.Sprintf("%040x", d.next()), state)
}

// test inserts a test of octo/app in state; a quarantined one has an
// owner and an expiry.
func (d *doorServer) test(t *testing.T, state string) int64 {
	t.Helper()
	return d.insert(t, `INSERT INTO tests (repository_id, package, name, state, quarantine_owner, quarantine_until)
		VALUES ($1, 'example.com/app', $2, $3, CASE WHEN $3 = 'quarantined' THEN 'mona' ELSE '' END,
			CASE WHEN $3 = 'quarantined' THEN now() + interval '7 days' END) RETURNING id`,
		d.repo, fmt.Sprintf("Test%d", d.next()), state)
}

// cluster inserts a failure cluster of octo/app.
func (d *doorServer) cluster(t *testing.T) int64 {
	t.Helper()
	return d.insert(t, `INSERT INTO clusters (repository_id, fingerprint, category, title, occurrences, run_count, first_seen_at, last_seen_at)
		VALUES ($1, $2, 'test', 'TestX: want N, got N', 1, 1, now(), now()) RETURNING id`, d.repo, fmt.Sprintf("fp%d", d.next()))
}

// failedRun inserts a failed run whose one failure is a test of state
// testState in a new cluster, flaky when the test is flaky.
func (d *doorServer) failedRun(t *testing.T, testState string) int64 {
	t.Helper()
	run, test, cluster := d.run(t, "failed"), d.test(t, testState), d.cluster(t)
	d.insert(t, `INSERT INTO failures (run_id, cluster_id, test_id, category, title, message, fingerprint, confidence, evidence, flaky)
		SELECT $1, $2, $3, 'test', 'TestX failed', 'want 3, got 2', c.fingerprint, 0.9, '[]', $4
		FROM clusters c WHERE c.id = $2 RETURNING id`, run, cluster, test, testState == "flaky")
	return run
}

// incident inserts an incident of a new cluster in status.
func (d *doorServer) incident(t *testing.T, status string) int64 {
	t.Helper()
	return d.insert(t, `INSERT INTO incidents (repository_id, cluster_id, title, severity, status, resolved_at)
		VALUES ($1, $2, 'TestX keeps failing on main', 'medium', $3, CASE WHEN $3 = 'resolved' THEN now() END) RETURNING id`,
		d.repo, d.cluster(t), status)
}

// auditedBy fails unless action was audited on subject by door's actor.
func (d *doorServer) auditedBy(t *testing.T, door, action string, id int64) {
	t.Helper()
	if n := d.count(t, `SELECT count(*) FROM audit_log WHERE action = $1 AND subject_id = $2 AND actor = $3`, action, id, actorOf(door)); n != 1 {
		var actors string
		d.DB.QueryRow(context.Background(), `SELECT string_agg(actor, ', ') FROM audit_log WHERE action = $1 AND subject_id = $2`, action, id).Scan(&actors)
		t.Errorf("%s of %d audited by %q, want %s", action, id, actors, actorOf(door))
	}
}
