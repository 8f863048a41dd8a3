package intake_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sentinel-ci/sentinel/app/apptest"
	"github.com/sentinel-ci/sentinel/app/intake"
)

// TestParseEventRefusesUnsafeNames: SHAs, refs and clone URLs from a payload
// reach GitHub API paths, git and the runner, so anything but a hex SHA, a
// valid git ref and an http(s) clone URL makes the delivery malformed.
func TestParseEventRefusesUnsafeNames(t *testing.T) {
	sha := strings.Repeat("a", 40)
	edit := func(body []byte, f func(p map[string]any)) []byte {
		var p map[string]any
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		f(p)
		b, _ := json.Marshal(p)
		return b
	}
	push := func(f func(p map[string]any)) []byte { return edit(apptest.PushPayload(t, "main", sha, "change"), f) }
	pr := func(f func(pr map[string]any)) []byte {
		return edit(apptest.Fixture(t, "pull_request/opened.payload.json"), func(p map[string]any) { f(p["pull_request"].(map[string]any)) })
	}
	suite := func(headSHA, branch string) []byte {
		return edit(apptest.Fixture(t, "check_suite/rerequested.payload.json"), func(p map[string]any) {
			cs := p["check_suite"].(map[string]any)
			cs["head_sha"], cs["head_branch"] = headSHA, branch
		})
	}
	for _, tc := range []struct {
		name, event string
		body        []byte
		ok          bool
	}{
		{"valid push", "push", push(func(map[string]any) {}), true},
		{"SHA-256 push", "push", push(func(p map[string]any) { p["after"] = strings.Repeat("b", 64) }), true},
		{"after is a path", "push", push(func(p map[string]any) { p["after"] = "../../etc" }), false},
		{"after is short", "push", push(func(p map[string]any) { p["after"] = "abc123" }), false},
		{"ref with ..", "push", push(func(p map[string]any) { p["ref"] = "refs/heads/a/../../x" }), false},
		{"ref with a control character", "push", push(func(p map[string]any) { p["ref"] = "refs/heads/a\x01b" }), false},
		{"ref with a space", "push", push(func(p map[string]any) { p["ref"] = "refs/heads/a b" }), false},
		{"branch starting with .", "push", push(func(p map[string]any) { p["ref"] = "refs/heads/.hidden" }), false},
		{"branch ending with .lock", "push", push(func(p map[string]any) { p["ref"] = "refs/heads/x.lock" }), false},
		{"file clone URL", "push", push(func(p map[string]any) {
			p["repository"].(map[string]any)["clone_url"] = "file:///etc"
		}), false},
		{"ssh clone URL", "push", push(func(p map[string]any) {
			p["repository"].(map[string]any)["clone_url"] = "ssh://git@example.com/x.git"
		}), false},
		{"clone URL with credentials", "push", push(func(p map[string]any) {
			p["repository"].(map[string]any)["clone_url"] = "https://user:pw@github.com/x.git"
		}), false},
		{"valid pull request", "pull_request", pr(func(map[string]any) {}), true},
		{"pull request head SHA is a path", "pull_request", pr(func(pr map[string]any) { pr["head"].(map[string]any)["sha"] = "../x" }), false},
		{"pull request branch starting with -", "pull_request", pr(func(pr map[string]any) { pr["head"].(map[string]any)["ref"] = "-x" }), false},
		{"valid check suite", "check_suite", suite(sha, "main"), true},
		{"check suite head SHA is a path", "check_suite", suite("../../repos", "main"), false},
		{"check suite branch with @{", "check_suite", suite(sha, "a@{1}"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := intake.ParseEvent(tc.event, tc.body)
			if tc.ok && (err != nil || ev.Ignore != "") {
				t.Fatalf("refused a valid payload: %v %+v", err, ev)
			}
			if !tc.ok && err == nil {
				t.Fatalf("accepted: %+v", ev)
			}
		})
	}
}

// TestCloneHosts: clone URLs on the GitHub host pass; another host, or a
// loopback one unless local repositories are allowed, does not.
func TestCloneHosts(t *testing.T) {
	for _, c := range []struct {
		api  string
		want string
	}{
		{"https://api.github.com/", "github.com"},
		{"https://ghe.example.com/api/v3/", "ghe.example.com"},
		{"http://127.0.0.1:8080/", "127.0.0.1:8080"},
	} {
		if got := intake.WebHost(c.api); got != c.want {
			t.Errorf("intake.WebHost(%q) = %q, want %q", c.api, got, c.want)
		}
	}
	gh := intake.CloneHosts{}
	ghe := intake.CloneHosts{GitHub: "ghe.example.com"}
	local := intake.CloneHosts{AllowLocal: true}
	for _, c := range []struct {
		hosts intake.CloneHosts
		url   string
		ok    bool
	}{
		{gh, "https://github.com/octo/app.git", true},
		{gh, "https://GitHub.com/octo/app.git", true},
		{gh, "https://evil.example/octo/app.git", false},
		{gh, "https://github.com.evil.example/octo/app.git", false},
		{gh, "http://127.0.0.1:9418/octo/app.git", false},
		{gh, "http://localhost/octo/app.git", false},
		{ghe, "https://ghe.example.com/octo/app.git", true},
		{ghe, "https://github.com/octo/app.git", false},
		{local, "http://127.0.0.1:9418/octo/app.git", true},
		{local, "http://[::1]:9418/octo/app.git", true},
		{local, "http://10.0.0.5/octo/app.git", false},
	} {
		if err := c.hosts.Check(c.url); (err == nil) != c.ok {
			t.Errorf("%+v.Check(%q) = %v, want ok=%v", c.hosts, c.url, err, c.ok)
		}
	}
}
