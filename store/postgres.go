package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoPostgres means no PostgreSQL server binaries were found on the machine.
var ErrNoPostgres = errors.New("no PostgreSQL binaries found (looked for initdb and postgres via pg_config --bindir, /usr/lib/postgresql/*/bin, Homebrew and PATH): install PostgreSQL (e.g. apt-get install postgresql) or set DATABASE_URL")

// ManagedPostgres is a PostgreSQL cluster Sentinel runs itself when no
// DATABASE_URL is given: initialised once under its directory, started on a
// free loopback port with a generated password, stopped on Stop.
type ManagedPostgres struct {
	Dir  string
	Port int

	password string
	cmd      *exec.Cmd
	exited   chan struct{}
	log      *slog.Logger
}

// ManagedOptions tunes a managed cluster.
type ManagedOptions struct {
	// Ephemeral trades durability for speed (fsync off); for tests only.
	Ephemeral bool
	// Port to listen on; 0 picks a free one. A restart keeps its clients'
	// connection string by reusing the port (drills).
	Port int
}

// StartManagedPostgres initialises (once) and starts a cluster in dir. When
// the process runs as root the server runs as the unprivileged `postgres`
// user (or `nobody`), because initdb and postgres refuse to run as root.
func StartManagedPostgres(ctx context.Context, dir string, opts ManagedOptions, log *slog.Logger) (*ManagedPostgres, error) {
	bindir, err := FindPostgresBinDir()
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	owner, err := serverOwner()
	if err != nil {
		return nil, err
	}
	if owner != nil {
		if reason := unreachableBy(dir, owner); reason != "" {
			return nil, fmt.Errorf("managed postgres: the %s user cannot reach %s (%s): make the parent directories traversable by %s (chmod o+x), choose another SENTINEL_DATA_DIR, or set DATABASE_URL", owner.name, dir, reason, owner.name)
		}
	}
	m := &ManagedPostgres{Dir: dir, log: log}
	if err := m.initOnce(ctx, bindir, owner, opts); err != nil {
		return nil, err
	}
	pw, err := os.ReadFile(m.passwordFile())
	if err != nil {
		return nil, fmt.Errorf("managed postgres: read password: %w", err)
	}
	m.password = strings.TrimSpace(string(pw))
	m.Port = opts.Port
	if m.Port == 0 {
		if m.Port, err = freePort(); err != nil {
			return nil, fmt.Errorf("managed postgres: pick a port: %w", err)
		}
	}
	args := []string{"-D", m.dataDir(), "-p", fmt.Sprint(m.Port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
		"-c", "max_connections=200"}
	if opts.Ephemeral {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	m.cmd = exec.Command(filepath.Join(bindir, "postgres"), args...)
	logFile, err := os.OpenFile(filepath.Join(dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("managed postgres: %w", err)
	}
	defer logFile.Close()
	m.cmd.Stdout, m.cmd.Stderr = logFile, logFile
	// Pdeathsig: if Sentinel dies without stopping it, the server gets a fast
	// shutdown instead of lingering as an orphan holding the data directory.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGINT}
	owner.apply(m.cmd)
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("managed postgres: start: %w", err)
	}
	m.exited = make(chan struct{})
	go func() { m.cmd.Wait(); close(m.exited) }() //nolint:errcheck
	if err := m.waitReady(ctx); err != nil {
		m.Stop()
		return nil, err
	}
	log.Info("managed postgres started", "dir", dir, "port", m.Port)
	return m, nil
}

// URL is the connection string of the cluster's sentinel database.
func (m *ManagedPostgres) URL() string {
	return fmt.Sprintf("postgres://sentinel:%s@127.0.0.1:%d/sentinel?sslmode=disable", m.password, m.Port)
}

// Stop shuts the server down (fast shutdown, then immediate, then kill) and
// waits for it to exit.
func (m *ManagedPostgres) Stop() error {
	if m.cmd == nil || m.cmd.Process == nil {
		return nil
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGKILL} {
		m.cmd.Process.Signal(sig) //nolint:errcheck
		select {
		case <-m.exited:
			m.log.Info("managed postgres stopped", "dir", m.Dir)
			return nil
		case <-time.After(20 * time.Second):
		}
	}
	return fmt.Errorf("managed postgres (pid %d) did not exit", m.cmd.Process.Pid)
}

// StopImmediate shuts the server down without a checkpoint, as a crash
// would: the next start recovers from the WAL. For drills.
func (m *ManagedPostgres) StopImmediate() error {
	if m.cmd == nil || m.cmd.Process == nil {
		return nil
	}
	m.cmd.Process.Signal(syscall.SIGQUIT) //nolint:errcheck
	select {
	case <-m.exited:
		return nil
	case <-time.After(20 * time.Second):
		return m.Stop()
	}
}

func (m *ManagedPostgres) dataDir() string      { return filepath.Join(m.Dir, "data") }
func (m *ManagedPostgres) passwordFile() string { return filepath.Join(m.Dir, "password") }

func (m *ManagedPostgres) initOnce(ctx context.Context, bindir string, owner *osUser, opts ManagedOptions) error {
	if _, err := os.Stat(filepath.Join(m.dataDir(), "PG_VERSION")); err == nil {
		return nil
	}
	// The parent stays traversable: the server may run as another user.
	if err := os.MkdirAll(filepath.Dir(m.Dir), 0o755); err != nil {
		return fmt.Errorf("managed postgres: %w", err)
	}
	if err := os.MkdirAll(m.Dir, 0o700); err != nil {
		return fmt.Errorf("managed postgres: %w", err)
	}
	os.RemoveAll(m.dataDir()) // a half-finished earlier initdb
	pw := make([]byte, 18)
	rand.Read(pw)
	if err := os.WriteFile(m.passwordFile(), []byte(hex.EncodeToString(pw)+"\n"), 0o600); err != nil {
		return fmt.Errorf("managed postgres: %w", err)
	}
	if err := owner.chown(m.Dir); err != nil {
		return err
	}
	args := []string{"-D", m.dataDir(), "-U", "sentinel", "--pwfile", m.passwordFile(),
		"-A", "scram-sha-256", "-E", "UTF8", "--locale=C"}
	if opts.Ephemeral {
		args = append(args, "--no-sync")
	}
	cmd := exec.CommandContext(ctx, filepath.Join(bindir, "initdb"), args...)
	owner.apply(cmd)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("managed postgres: initdb: %w\n%s", err, out)
	}
	return nil
}

func (m *ManagedPostgres) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	adminURL := strings.Replace(m.URL(), "/sentinel?", "/postgres?", 1)
	for {
		conn, err := pgx.Connect(ctx, adminURL)
		if err == nil {
			defer conn.Close(ctx)
			var exists bool
			if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'sentinel')").Scan(&exists); err != nil {
				return fmt.Errorf("managed postgres: %w", err)
			}
			if !exists {
				if _, err := conn.Exec(ctx, "CREATE DATABASE sentinel"); err != nil {
					return fmt.Errorf("managed postgres: create database: %w", err)
				}
			}
			return nil
		}
		select {
		case <-m.exited:
			log, _ := os.ReadFile(filepath.Join(m.Dir, "server.log"))
			return fmt.Errorf("managed postgres exited during start-up; server.log ends:\n%s", tail(string(log), 2000))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("managed postgres did not accept connections within 60s: %w", err)
		}
	}
}

// FindPostgresBinDir finds a directory holding both initdb and postgres.
func FindPostgresBinDir() (string, error) {
	var candidates []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	for _, pattern := range []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin",
		"/opt/homebrew/opt/postgresql*/bin", "/usr/local/opt/postgresql*/bin", "/usr/local/pgsql/bin"} {
		matches, _ := filepath.Glob(pattern)
		sort.Sort(sort.Reverse(sort.StringSlice(matches))) // newest version first (lexically; good enough for 1x)
		candidates = append(candidates, matches...)
	}
	if p, err := exec.LookPath("postgres"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
	}
	for _, dir := range candidates {
		if isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	return "", ErrNoPostgres
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
