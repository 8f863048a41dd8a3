package main

import (
	"context"
	"strings"
	"testing"
)

// TestEverySettingShowsItsDefault: a setting's -h line gives its default or
// says what unset means, so a new setting cannot be added without one.
func TestEverySettingShowsItsDefault(t *testing.T) {
	t.Parallel()
	for _, s := range settings() {
		u := s.usage()
		if !strings.Contains(u, "default") && !strings.Contains(u, "unset") {
			t.Errorf("-%s: %q gives no default and does not say what unset means (add it to unsetMeaning or the help)", s.flag, u)
		}
		if !strings.Contains(u, "$"+s.env) {
			t.Errorf("-%s: %q does not name $%s", s.flag, u, s.env)
		}
	}
}

func TestHelpShowsDefaults(t *testing.T) {
	t.Parallel()
	var allFlags []string
	for _, s := range settings() {
		allFlags = append(allFlags, "  -"+s.flag+" ")
	}
	var scenarioNames []string
	for _, sc := range scenarios {
		scenarioNames = append(scenarioNames, "  "+sc.name+" ")
	}
	for _, tc := range []struct {
		args          []string
		code          int
		want, wantNot []string
		wantEveryFlag bool
	}{
		{args: []string{"serve", "-h"}, wantEveryFlag: true, want: []string{
			"usage: sentinel serve [flags]",
			"listen address ($SENTINEL_ADDR) (default 127.0.0.1:8080)",
			"($SENTINEL_DATA_DIR) (default ./data)",
			"($SENTINEL_SHUTDOWN_GRACE) (default 30s)",
			"$GITHUB_WEBHOOK_SECRET_FILE",
			"(unset: no forwarding)",
			"(default false)",
		}},
		{args: []string{"worker", "-h"}, wantEveryFlag: true, want: []string{"usage: sentinel worker [flags]", "(default 2)"}},
		{args: []string{"replay", "-h"}, want: []string{"usage: sentinel replay [flags] DELIVERY_ID"}},
		{args: []string{"demo", "-h"}, want: append([]string{
			"usage: sentinel demo [flags] [SCENARIO...]",
			"  -exit\n",
			"  -pushes int",
			"(default \"samples\")",
			"($SENTINEL_ADDR) (default 127.0.0.1:8080)",
			"failed: network/DNS",
			"Not used by the demo: GITHUB_APP_ID",
		}, scenarioNames...), wantNot: []string{"  -github-app-id ", "  -github-webhook-secret ", "  -github-api-url ", "  -smee-url "}},
		{args: []string{"demo", "--github-app-id", "3"}, code: 2, want: []string{"-github-app-id: the demo records GitHub calls"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut strings.Builder
			code := run(context.Background(), tc.args, &out, &errOut, func(string) string { return "" })
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.code, errOut.String())
			}
			want := tc.want
			if tc.wantEveryFlag {
				want = append(want, allFlags...)
			}
			for _, w := range want {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut.String())
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(errOut.String(), w) {
					t.Errorf("stderr has %q:\n%s", w, errOut.String())
				}
			}
		})
	}
}
