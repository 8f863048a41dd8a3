package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
)

func apiDo(t testing.TB, method, u, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, u, bytes.NewReader([]byte(body)))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v", method, u, err)
	}
	return resp.StatusCode, m
}

func TestAPIReads(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	s := seedDashboard(t, ds.DB)

	// Runs, page by page through the cursor.
	ids := map[float64]bool{}
	u := ds.url + "/api/runs?limit=3"
	for pages := 0; u != ""; pages++ {
		status, m := apiDo(t, "GET", u, "")
		if status != 200 || pages > 5 {
			t.Fatalf("GET %s: %d %v", u, status, m)
		}
		for _, r := range m["runs"].([]any) {
			ids[r.(map[string]any)["id"].(float64)] = true
		}
		u = ""
		if c, ok := m["next_cursor"].(string); ok {
			u = ds.url + "/api/runs?limit=3&cursor=" + c
		}
	}
	if len(ids) != 7 {
		t.Errorf("runs through the cursor: %d, want 7", len(ids))
	}

	status, run := apiDo(t, "GET", fmt.Sprintf("%s/api/runs/%d", ds.url, s.FailedRun), "")
	if status != 200 || run["state"] != "failed" || len(run["steps"].([]any)) != 2 || len(run["tests"].([]any)) != 3 || len(run["github_calls"].([]any)) != 2 {
		t.Errorf("run detail: %d %v", status, run)
	}
	f := run["failures"].([]any)[0].(map[string]any)
	if f["category"] != "test" || f["hint"] == "" || len(f["evidence"].([]any)) != 2 {
		t.Errorf("failure: %v", f)
	}

	for _, tc := range []struct {
		path, key string
		n         int
	}{
		{"/api/runs?state=awaiting_approval", "runs", 1},
		{"/api/runs?repo=octo/lib", "runs", 0},
		{"/api/clusters", "clusters", 1},
		{"/api/incidents?status=active", "incidents", 1},
		{"/api/incidents?status=resolved", "incidents", 0},
		{"/api/repos", "repos", 2},
	} {
		status, m := apiDo(t, "GET", ds.url+tc.path, "")
		if status != 200 {
			t.Errorf("GET %s: %d %v", tc.path, status, m)
			continue
		}
		if got := len(m[tc.key].([]any)); got != tc.n {
			t.Errorf("GET %s: %d %s, want %d", tc.path, got, tc.key, tc.n)
		}
	}
	status, inc := apiDo(t, "GET", fmt.Sprintf("%s/api/incidents/%d", ds.url, s.Incident), "")
	if status != 200 || inc["severity"] != "high" || len(inc["timeline"].([]any)) != 2 || len(inc["runs"].([]any)) != 1 {
		t.Errorf("incident: %d %v", status, inc)
	}
	for path, want := range map[string]int{
		"/api/runs/424242":          404,
		"/api/runs?state=bogus":     400,
		"/api/runs?cursor=x":        400,
		"/api/clusters?cursor=x":    400,
		"/api/incidents?status=odd": 400,
		"/api/incidents/99999":      404,
	} {
		status, m := apiDo(t, "GET", ds.url+path, "")
		if status != want || m["error"] == nil {
			t.Errorf("GET %s: %d %v, want %d with an error message", path, status, m, want)
		}
	}
}

func TestAPIWrites(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{AllowLocalRepos: true})
	s := seedDashboard(t, ds.DB)

	// A real repository to resolve a branch with git ls-remote.
	dir := t.TempDir()
	for _, args := range [][]string{
		{"init", "-q", "-b", "trunk", dir},
		{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "first"},
	} {
		if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	head, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	sha := strings.TrimSpace(string(head))

	tests := []struct {
		name, method, path, body string
		want                     int
		check                    func(t *testing.T, m map[string]any)
	}{
		{"add repo", "POST", "/api/repos", fmt.Sprintf(`{"full_name": "me/tool", "clone_url": %q, "default_branch": "trunk"}`, dir), 201, nil},
		{"bad repo name", "POST", "/api/repos", `{"full_name": "nope"}`, 400, nil},
		{"option as clone url", "POST", "/api/repos", `{"full_name": "me/x", "clone_url": "--upload-pack=touch /tmp/x"}`, 400, nil},
		{"ssh clone url", "POST", "/api/repos", `{"full_name": "me/x", "clone_url": "ssh://git@github.com/me/x.git"}`, 400, nil},
		{"git clone url", "POST", "/api/repos", `{"full_name": "me/x", "clone_url": "git://github.com/me/x.git"}`, 400, nil},
		{"credentials in clone url", "POST", "/api/repos", `{"full_name": "me/x", "clone_url": "https://u:p@github.com/me/x.git"}`, 400, nil},
		{"unknown field", "POST", "/api/repos", `{"fullname": "me/tool"}`, 400, nil},
		{"run default branch", "POST", "/api/runs", `{"repo": "me/tool"}`, 201, func(t *testing.T, m map[string]any) {
			r := m["run"].(map[string]any)
			if r["sha"] != sha || r["branch"] != "trunk" || r["trigger"] != "api" || r["state"] != "queued" || r["attempt"] != 1.0 {
				t.Errorf("run: %v", r)
			}
		}},
		{"run again is a new attempt", "POST", "/api/runs", `{"repo": "me/tool", "ref": "trunk"}`, 201, func(t *testing.T, m map[string]any) {
			if a := m["run"].(map[string]any)["attempt"]; a != 2.0 {
				t.Errorf("attempt %v", a)
			}
		}},
		{"run a sha", "POST", "/api/runs", fmt.Sprintf(`{"repo": "me/tool", "ref": %q}`, sha), 201, nil},
		{"unknown branch", "POST", "/api/runs", `{"repo": "me/tool", "ref": "nope"}`, 404, nil},
		{"unknown repo", "POST", "/api/runs", `{"repo": "me/none"}`, 404, nil},
		{"no body", "POST", "/api/runs", "", 403, nil}, // not JSON and no CSRF token
		{"approve", "POST", fmt.Sprintf("/api/runs/%d/approve", s.ForkRun), "{}", 200, func(t *testing.T, m map[string]any) {
			if st := m["run"].(map[string]any)["state"]; st != "queued" {
				t.Errorf("state %v", st)
			}
		}},
		{"cancel", "POST", fmt.Sprintf("/api/runs/%d/cancel", s.ForkRun), "{}", 200, nil},
		{"cancel again", "POST", fmt.Sprintf("/api/runs/%d/cancel", s.ForkRun), "{}", 409, nil},
		{"rerun", "POST", fmt.Sprintf("/api/runs/%d/rerun", s.FailedRun), "{}", 201, nil},
		{"acknowledge", "POST", fmt.Sprintf("/api/incidents/%d/acknowledge", s.Incident), `{"note": "looking"}`, 200, func(t *testing.T, m map[string]any) {
			if st := m["incident"].(map[string]any)["status"]; st != "mitigating" {
				t.Errorf("status %v", st)
			}
		}},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest(tc.method, ds.url+tc.path, strings.NewReader(tc.body))
		if tc.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d %v, want %d", tc.name, resp.StatusCode, m, tc.want)
			continue
		}
		if tc.want >= 400 && m["error"] == nil {
			t.Errorf("%s: no error message: %v", tc.name, m)
		}
		if tc.check != nil {
			t.Run(tc.name, func(t *testing.T) { tc.check(t, m) })
		}
	}
	if n := ds.count(t, `SELECT count(*) FROM audit_log WHERE actor = 'api:anonymous'`); n < 7 {
		t.Errorf("API audit entries: %d", n)
	}
}

// TestAPIReposRefusesLocalPathsByDefault: without AllowLocalRepos, a local
// path or file:// URL is refused; with it, a path is stored as file://.
func TestAPIReposRefusesLocalPathsByDefault(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	for _, u := range []string{"/srv/git/x", "file:///srv/git/x", "ssh://git@github.com/me/x.git", "git://github.com/me/x.git", "relative/path",
		"https://evil.example/me/x.git", "http://127.0.0.1:9418/me/x.git"} {
		status, m := apiDo(t, "POST", ds.url+"/api/repos", fmt.Sprintf(`{"full_name": "me/x", "clone_url": %q}`, u))
		if status != http.StatusBadRequest {
			t.Errorf("clone_url %q: %d %v, want 400", u, status, m)
		}
	}
	if status, m := apiDo(t, "POST", ds.url+"/api/repos", `{"full_name": "me/x", "clone_url": "https://github.com/me/x.git"}`); status != http.StatusCreated {
		t.Errorf("https clone_url: %d %v, want 201", status, m)
	}
	local := newDashServer(t, Options{AllowLocalRepos: true})
	status, m := apiDo(t, "POST", local.url+"/api/repos", `{"full_name": "me/y", "clone_url": "/srv/git/y"}`)
	if repo, _ := m["repo"].(map[string]any); status != http.StatusCreated || repo["clone_url"] != "file:///srv/git/y" {
		t.Errorf("local path allowed: %d %v, want 201 with file:///srv/git/y", status, m)
	}
	if status, m := apiDo(t, "POST", local.url+"/api/repos", `{"full_name": "me/z", "clone_url": "http://127.0.0.1:9418/me/z.git"}`); status != http.StatusCreated {
		t.Errorf("loopback clone_url allowed: %d %v, want 201", status, m)
	}
}
