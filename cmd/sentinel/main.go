// Command sentinel is the one Sentinel binary: the server, the workers, the
// migrations and the developer tools. main only handles signals and exit
// codes; Main (main_type.go) wires everything.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `sentinel — self-hosted CI that explains its failures

Usage: sentinel COMMAND [flags]

Commands:
  serve      HTTP (webhooks, dashboard, API) and workers
  worker     workers only; run more of them against the same Postgres to scale out
  migrate    apply database migrations and exit
  replay ID  process a stored webhook delivery again (by X-GitHub-Delivery id)
  triage [--json] FILE...
             run the triage engine on a log, a go test -json stream or JUnit XML
             (- reads stdin)
  fingerprint [--group] [FILE]
             learn templates from the input, then print each line's fingerprint and
             template, or with --group the groups, most frequent first (stdin without FILE)
  flaky [--json] FILE...
             judge each test flaky, broken or healthy from exported CI history: one
             JUnit XML or go test -json report per run, or a run,commit,test,outcome CSV
  tunnel --from https://smee.io/CHANNEL
             forward webhook deliveries from a smee.io channel to this machine
  secret set|delete|list TARGET [NAME]
             manage the secrets pipeline steps may name (value on stdin; 'sentinel secret' for help)
  setup      register a new GitHub App from a manifest and store its credentials
  version    print the version, the commit it was built from and the Go version
  demo [--exit] [SCENARIO...]
             run the sample repositories through Sentinel end to end (no GitHub needed)
  help       show this help

Every flag is also an environment variable; run 'sentinel serve -h' to list them.
`

// commandSynopsis is the first line of `sentinel COMMAND -h` for the
// commands that take every setting.
var commandSynopsis = map[string]string{
	"serve":   "sentinel serve [flags]",
	"worker":  "sentinel worker [flags]",
	"migrate": "sentinel migrate [flags]",
	"replay":  "sentinel replay [flags] DELIVERY_ID",
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// run executes one command and returns the process exit code: 0 success,
// 1 failure, 2 bad usage or configuration.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve", "worker", "migrate", "replay":
		fs := flag.NewFlagSet("sentinel "+cmd, flag.ContinueOnError)
		fs.SetOutput(stderr)
		fs.Usage = settingsUsage(fs, commandSynopsis[cmd])
		cfg, err := LoadConfig(fs, rest, getenv)
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if err != nil {
			fmt.Fprintf(stderr, "sentinel %s: %s\n", cmd, strings.ReplaceAll(err.Error(), "\n", "; "))
			return 2
		}
		m := NewMain(cfg, newLogger(stderr, cfg.LogLevel))
		if cmd == "replay" {
			if fs.NArg() != 1 {
				fmt.Fprintln(stderr, "sentinel replay: want exactly one delivery id (X-GitHub-Delivery)")
				return 2
			}
			err = m.replay(ctx, fs.Arg(0), stdout)
		} else {
			err = m.Run(ctx, cmd)
		}
		if cerr := m.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			fmt.Fprintf(stderr, "sentinel %s: %v\n", cmd, err)
			return 1
		}
		return 0
	case "demo":
		return runDemo(ctx, rest, stdout, stderr, getenv)
	case "triage":
		return runTriage(rest, os.Stdin, stdout, stderr)
	case "fingerprint":
		return runFingerprint(rest, os.Stdin, stdout, stderr)
	case "flaky":
		return runFlaky(rest, stdout, stderr)
	case "tunnel":
		return runTunnel(ctx, rest, stdout, stderr, getenv)
	case "secret":
		return runSecret(ctx, rest, os.Stdin, stdout, stderr, getenv)
	case "setup":
		return runSetup(ctx, rest, stdout, stderr, getenv)
	case "version", "-version", "--version":
		return runVersion(rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "sentinel: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}
