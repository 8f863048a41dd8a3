package triage

import (
	"strings"
	"testing"
)

func TestCodeOwners(t *testing.T) {
	c := ParseCodeOwners(`# Owners of the code, last match wins.
*                 @octo/everyone
*.go              @gophers
/docs/            @writers
cache/            @octo/cache-team   # anywhere in the tree
/internal/net/**  @netops
apps/**/test_*.go @qa
/vendor/
`)
	for _, tc := range []struct{ path, want string }{
		{"README.md", "@octo/everyone"},
		{"main.go", "@gophers"},
		{"docs/setup.md", "@writers"},
		{"sub/docs/setup.md", "@octo/everyone"}, // anchored: only at the root
		{"cache/lru_test.go", "@octo/cache-team"},
		{"pkg/cache/lru_test.go", "@octo/cache-team"},
		{"internal/net/dial/dial_test.go", "@netops"},
		{"apps/a/b/test_x.go", "@qa"},
		{"apps/test_x.go", "@qa"},
		{"vendor/x/y.go", ""}, // a rule without owners unsets them
		{"cachex/a.go", "@gophers"},
	} {
		if got := strings.Join(c.Owners(tc.path), " "); got != tc.want {
			t.Errorf("Owners(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
	if got := ParseCodeOwners("").Owners("a.go"); got != nil {
		t.Errorf("empty file: %v", got)
	}
}
