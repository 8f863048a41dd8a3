package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// unsetMeaning says what an empty setting means, for settings without a
// default whose help does not say it already ("unset …", "default: …").
// TestEverySettingShowsItsDefault keeps it complete.
var unsetMeaning = map[string]string{
	"SENTINEL_ADMIN_TOKEN":       "unset: dashboard and API actions need no token",
	"GITHUB_APP_PRIVATE_KEY":     "unset: no App; required with GITHUB_APP_ID",
	"GITHUB_WEBHOOK_SECRET":      "unset: every delivery is refused; required with GITHUB_APP_ID",
	"SENTINEL_SMEE_URL":          "unset: no forwarding",
	"SENTINEL_ALLOW_LOCAL_REPOS": "default false",
	"SENTINEL_NOTIFY_URL":        "unset: no notifications are sent",
	"SENTINEL_NOTIFY_SECRET":     "unset: only Slack endpoints may be named; required with any other",
}

// usage is the flag's help as `-h` prints it: what the setting does, its
// variable (and *_FILE for secrets), and its default or what unset means.
func (s setting) usage() string {
	var b strings.Builder
	b.WriteString(s.help)
	b.WriteString(" ($" + s.env)
	if s.secret {
		b.WriteString(" or a file named by $" + s.env + "_FILE")
	}
	b.WriteString(")")
	switch {
	case s.def != "":
		b.WriteString(" (default " + s.def + ")")
	case unsetMeaning[s.env] != "":
		b.WriteString(" (" + unsetMeaning[s.env] + ")")
	}
	return b.String()
}

// settingsUsage is fs.Usage for the commands that take every setting.
func settingsUsage(fs *flag.FlagSet, synopsis string) func() {
	return func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: %s\n", synopsis)
		fmt.Fprintln(w, "Every flag is also the environment variable named after it; a flag wins over its variable.")
		fmt.Fprintln(w)
		fs.PrintDefaults()
	}
}

// printFlags prints the flags of fs that keep selects, as flag.PrintDefaults
// does.
func printFlags(w io.Writer, fs *flag.FlagSet, keep func(*flag.Flag) bool) {
	shown := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	shown.SetOutput(w)
	fs.VisitAll(func(f *flag.Flag) {
		if keep(f) {
			shown.Var(f.Value, f.Name, f.Usage)
			shown.Lookup(f.Name).DefValue = f.DefValue
		}
	})
	shown.PrintDefaults()
}
