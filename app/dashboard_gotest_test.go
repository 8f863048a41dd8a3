package app

import (
	"strings"
	"testing"
)

func TestIsGoTestJSON(t *testing.T) {
	for _, tc := range []struct {
		name, log string
		want      bool
	}{
		{"events", goTestJSONLog, true},
		{"downloads first", "go: downloading golang.org/x/sync v0.24.0\ngo: downloading github.com/google/go-cmp v0.7.0\n" + goTestJSONLog, true},
		{"plain go test -v", "=== RUN   TestA\n--- PASS: TestA (0.00s)\nPASS\nok  \texample.com/x\t0.01s\n", false},
		{"other JSON", `{"level":"info","msg":"hello"}` + "\n" + `{"level":"info","msg":"bye"}` + "\n", false},
		{"mostly text", "a\nb\nc\n" + `{"Action":"start","Package":"x"}` + "\n", false},
		{"empty", "", false},
	} {
		if got := isGoTestJSON([]byte(tc.log)); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	// Lines that are not events are kept, in place, as go printed them.
	html, ok := renderGoTestLog([]byte("go: downloading golang.org/x/sync v0.24.0\n"+goTestJSONLog), 7, nil)
	if !ok || !strings.Contains(string(html), `<div class="pkg" id="s7-L1">go: downloading golang.org/x/sync v0.24.0</div>`) {
		t.Errorf("stderr line before the events: %s", html)
	}
}

func TestRateWords(t *testing.T) {
	for _, tc := range []struct {
		k, n int
		want string
	}{
		{0, 0, "no runs recorded yet"},
		{0, 30, "no failure in the last 30 runs"},
		{1, 1, "failed every run (1 of 1); too few runs to be sure"},
		{3, 36, "fails about 1 run in 12 (3 of the last 36)"},
		{7, 12, "fails about 1 run in 2 (7 of the last 12)"},
		{9, 12, "fails most runs (9 of the last 12)"},
		{2, 5, "fails about 1 run in 3 (2 of the last 5); too few runs to be sure"},
		{20, 20, "failed every run (20 of 20)"},
	} {
		if got := rateWords(tc.k, tc.n); got != tc.want {
			t.Errorf("rateWords(%d, %d) = %q, want %q", tc.k, tc.n, got, tc.want)
		}
	}
}
