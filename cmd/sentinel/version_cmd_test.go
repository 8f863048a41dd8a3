package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionString(t *testing.T) {
	t.Parallel()
	build := func(version string, settings ...string) *debug.BuildInfo {
		info := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/sentinel-ci/sentinel", Version: version}}
		for i := 0; i+1 < len(settings); i += 2 {
			info.Settings = append(info.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return info
	}
	for _, tc := range []struct {
		name string
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{"checkout, modified", build("(devel)", "vcs.revision", "1a2b3c4d5e6f7a8b9c0d", "vcs.modified", "true"),
			true, "sentinel devel (commit 1a2b3c4d5e6f, modified) go1.26.8"},
		{"checkout, clean", build("(devel)", "vcs.revision", "1a2b3c4d5e6f7a8b9c0d", "vcs.modified", "false"),
			true, "sentinel devel (commit 1a2b3c4d5e6f) go1.26.8"},
		{"go install at a tag", build("v1.2.0"), true, "sentinel v1.2.0 (commit unknown) go1.26.8"},
		{"short revision", build("", "vcs.revision", "abc"), true, "sentinel devel (commit abc) go1.26.8"},
		{"no build info", nil, false, "sentinel devel (commit unknown) " + runtime.Version()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionString(tc.info, tc.ok); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args        []string
		code        int
		out, errOut string
	}{
		{[]string{"version"}, 0, "sentinel ", ""},
		{[]string{"--version"}, 0, "sentinel ", ""},
		{[]string{"-version"}, 0, "sentinel ", ""},
		{[]string{"version", "extra"}, 2, "", "usage: sentinel version"},
		{[]string{"help"}, 0, "  version ", ""},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut strings.Builder
			code := run(context.Background(), tc.args, &out, &errOut, func(string) string { return "" })
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.code, errOut.String())
			}
			if !strings.Contains(out.String(), tc.out) || !strings.Contains(errOut.String(), tc.errOut) {
				t.Errorf("stdout %q, stderr %q; want them to contain %q and %q", out.String(), errOut.String(), tc.out, tc.errOut)
			}
			if tc.code == 0 && tc.args[0] != "help" && !strings.Contains(out.String(), runtime.Version()[:4]) {
				t.Errorf("stdout %q names no Go version", out.String())
			}
		})
	}
}
