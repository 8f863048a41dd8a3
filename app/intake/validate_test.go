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
