package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/sentinel-ci/sentinel/app/tunnel"
)

const tunnelUsage = `Usage: sentinel tunnel --from https://smee.io/CHANNEL [--to URL]

Forwards GitHub webhook deliveries from a smee.io channel (or a self-hosted smee or gosmee
server) to Sentinel's webhook endpoint, reconnecting whenever the stream drops. See smee.md.

When GITHUB_WEBHOOK_SECRET (or GITHUB_WEBHOOK_SECRET_FILE) is set, the tunnel also checks each
signature before forwarding, to say which deliveries a relay altered. Sentinel verifies every
delivery itself either way.

Flags:
`

// runTunnel implements `sentinel tunnel`. Exit status: 0 after Ctrl-C or SIGTERM, 2 for bad
// usage. Connection problems are retried for as long as it runs, never fatal.
func runTunnel(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("sentinel tunnel", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, tunnelUsage)
		fs.PrintDefaults()
	}
	from := fs.String("from", getenv("SENTINEL_SMEE_URL"), "relay channel URL ($SENTINEL_SMEE_URL)")
	to := fs.String("to", defaultWebhookTarget(getenv("SENTINEL_ADDR")), "Sentinel's webhook URL (default from $SENTINEL_ADDR)")
	logLevel := fs.String("log-level", getenvOr(getenv, "SENTINEL_LOG_LEVEL", "info"), "debug, info, warn or error ($SENTINEL_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sentinel tunnel: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *from == "" {
		fmt.Fprintln(stderr, "sentinel tunnel: no channel: pass --from https://smee.io/CHANNEL or set SENTINEL_SMEE_URL (new channel: https://smee.io/new)")
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "sentinel tunnel: --log-level %q: want debug, info, warn or error\n", *logLevel)
		return 2
	}
	secret, err := webhookSecretFromEnv(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "sentinel tunnel: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if u, err := url.Parse(*from); err == nil && strings.EqualFold(u.Hostname(), "smee.io") {
		log.Warn("a smee.io channel is public: anyone who knows its URL can read every delivery sent through it")
	}
	t := &tunnel.Tunnel{Source: *from, Target: *to, Secret: secret, Logger: log}
	if err := t.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "sentinel tunnel: %v\n", err)
		return 2
	}
	return 0
}

// defaultWebhookTarget points at the webhook endpoint of a Sentinel listening on addr, reached
// over loopback when it listens on every interface.
func defaultWebhookTarget(addr string) string {
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://127.0.0.1:8080/webhooks/github"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/webhooks/github"
}

// webhookSecretFromEnv reads the secret the way `sentinel serve` does, for diagnostics only.
func webhookSecretFromEnv(getenv func(string) string) ([]byte, error) {
	v, path := getenv("GITHUB_WEBHOOK_SECRET"), getenv("GITHUB_WEBHOOK_SECRET_FILE")
	if path == "" {
		return []byte(v), nil
	}
	if v != "" {
		return nil, errors.New("GITHUB_WEBHOOK_SECRET and GITHUB_WEBHOOK_SECRET_FILE are both set: set one")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("GITHUB_WEBHOOK_SECRET_FILE: %w", err)
	}
	return []byte(strings.TrimRight(string(b), "\r\n")), nil
}

func getenvOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}
