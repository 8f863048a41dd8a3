package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// versionString describes this binary from its build information: the
// module version ("devel" for a build from a checkout), the VCS revision and
// whether the tree had local changes, and the Go version that built it, e.g.
// "sentinel devel (commit 1a2b3c4d5e6f, modified) go1.26.8".
func versionString(info *debug.BuildInfo, ok bool) string {
	version, goVersion := "devel", runtime.Version()
	var revision string
	var modified bool
	if ok && info != nil {
		if v := info.Main.Version; v != "" && v != "(devel)" {
			version = v
		}
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	var detail []string
	if revision != "" {
		detail = append(detail, "commit "+revision[:min(len(revision), 12)])
	} else {
		detail = append(detail, "commit unknown")
	}
	if modified {
		detail = append(detail, "modified")
	}
	return fmt.Sprintf("sentinel %s (%s) %s", version, strings.Join(detail, ", "), goVersion)
}

// runVersion implements `sentinel version` (also --version and -version).
func runVersion(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: sentinel version")
		return 2
	}
	fmt.Fprintln(stdout, versionString(debug.ReadBuildInfo()))
	return 0
}
