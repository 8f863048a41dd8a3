package jobs

import (
	"strings"
	"testing"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

func TestBisectCommentAndText(t *testing.T) {
	good, c1, c2, c3 := strings.Repeat("0", 40), strings.Repeat("1", 40), strings.Repeat("2", 40), strings.Repeat("3", 40)
	found := store.TestBisect{Package: "pkg", Name: "TestParse", GoodSHA: good, BadSHA: c3, Commits: []string{c1, c2, c3},
		Tested: []string{c2, c1}, Outcomes: []triage.BisectOutcome{triage.BisectBad, triage.BisectGood},
		Found: true, FirstBadSHA: c2, LastGoodSHA: c1, Author: "Ada", PullRequest: 12}
	body := BisectComment(found, "https://sentinel.example", 7)
	for _, s := range []string{"`pkg::TestParse`", "the first bad commit is `" + c2 + "`", "by Ada", "in #12",
		"- `222222222222` bad", "- `111111111111` good", "2 of 3 commits tested", "https://sentinel.example/incidents/7"} {
		if !strings.Contains(body, s) {
			t.Errorf("comment lacks %q:\n%s", s, body)
		}
	}
	between := found
	between.Found, between.FirstBadSHA, between.LastGoodSHA, between.Author, between.PullRequest = false, c3, c1, "", 0
	if body := BisectComment(between, "", 7); !strings.Contains(body, "between `"+c1+"` and `"+c3+"`") || strings.Contains(body, " by ") {
		t.Errorf("range comment:\n%s", body)
	}
	if got := BisectText("first bad commit 222222222222", "Ada", 12); got != "first bad commit 222222222222 by Ada in #12" {
		t.Errorf("text %q", got)
	}
	if got := BisectText("first bad commit 222222222222", "", 0); got != "first bad commit 222222222222" {
		t.Errorf("text without author or pull request %q", got)
	}
}
