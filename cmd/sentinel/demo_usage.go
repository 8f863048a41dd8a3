package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
)

// demoUnusedSettings are the settings the demo does not use: it records
// GitHub calls instead of sending them, signs its own deliveries and sends
// them itself.
var demoUnusedSettings = []string{"GITHUB_APP_ID", "GITHUB_APP_PRIVATE_KEY", "GITHUB_WEBHOOK_SECRET", "GITHUB_API_URL", "SENTINEL_SMEE_URL"}

func demoUnused(env string) bool { return slices.Contains(demoUnusedSettings, env) }

// demoUnusedFlag reports whether f is the flag of a setting the demo does
// not use.
func demoUnusedFlag(f *flag.Flag) bool {
	for _, s := range settings() {
		if s.flag == f.Name {
			return demoUnused(s.env)
		}
	}
	return false
}

// demoUsage is `sentinel demo -h`: the scenarios, then only the flags the
// demo uses.
func demoUsage(fs *flag.FlagSet) func() {
	return func() {
		w := fs.Output()
		fmt.Fprintln(w, "usage: sentinel demo [flags] [SCENARIO...]")
		fmt.Fprintln(w, "Run the sample repositories through Sentinel end to end: no GitHub needed, its calls are recorded.")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Scenarios (every one when none is named), with what Sentinel should conclude:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, sc := range scenarios {
			fmt.Fprintf(tw, "  %s\t%s\n", sc.name, sc.expect)
		}
		tw.Flush()
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Flags (a setting's flag is also the environment variable named after it):")
		printFlags(w, fs, func(f *flag.Flag) bool { return !demoUnusedFlag(f) })
		fmt.Fprintf(w, "\nNot used by the demo: %s.\n", strings.Join(demoUnusedSettings, ", "))
		fmt.Fprintln(w, "The demo runs as many runs at once as the machine has cores, and no confirmation re-runs, unless")
		fmt.Fprintln(w, "-concurrency or -confirm-budget (or their variables) say otherwise.")
	}
}
