package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/app/githubapp"
	"github.com/sentinel-ci/sentinel/app/githubapp/githubtest"
	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// e2e is a real `sentinel serve` (PostgreSQL, River, the demo's runtime)
// reporting to a fake GitHub, with a git server holding the demo's
// repositories: what the end-to-end tests drive.
type e2e struct {
	ctx  context.Context
	m    *Main
	fake *githubtest.Server
	d    *demo
}

// e2eSetup is what an end-to-end test changes of the defaults.
type e2eSetup struct {
	env map[string]string // added to the configuration
	// shell: steps run as host processes (SENTINEL_EXECUTOR=shell), and no
	// demo image is looked for or built.
	shell bool
	// samples is the folder whose subfolders prepareRepo turns into
	// repositories ("": the demo's samples).
	samples string
}

// startE2E starts one for the test; everything stops at the end of the test.
func startE2E(t *testing.T, setup e2eSetup) *e2e {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a sample through the whole pipeline")
	}
	fake := githubtest.New(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	gh, err := githubapp.NewClient(githubapp.Config{AppID: 1, PrivateKey: keyPEM, APIURL: fake.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	// Confirmation re-runs have their own end-to-end test; here they would
	// only re-run the failing samples in the background.
	vars := map[string]string{"DATABASE_URL": storetest.URL(t), "SENTINEL_ADDR": "127.0.0.1:0",
		"SENTINEL_DATA_DIR": t.TempDir(), "SENTINEL_SHUTDOWN_GRACE": "5s", "SENTINEL_CONFIRM_BUDGET": "0"}
	if setup.shell {
		vars["SENTINEL_EXECUTOR"] = "shell"
	}
	for k, v := range setup.env {
		vars[k] = v
	}
	cfg, err := load(vars)
	if err != nil {
		t.Fatal(err)
	}
	cfg.WebhookSecret = "e2e-secret"
	m := NewMain(cfg, newLogger(testWriter{t}, "warn"))
	m.GitHub = gh
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	if err := m.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if err := prepareDemoRuntime(ctx, m, newProgress(io.Discard)); err != nil {
		t.Fatal(err)
	}
	removeCacheVolumesAtEnd(t, m)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx, "serve") }()
	t.Cleanup(func() { stop(); <-done })
	<-m.Listening

	gitRoot := t.TempDir()
	gitURL, stopGit, err := serveGit(gitRoot)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopGit() })
	samples := setup.samples
	if samples == "" {
		samples = "../../samples"
	}
	d := &demo{m: m, p: newProgress(io.Discard), gitRoot: gitRoot, gitURL: gitURL, samples: samples,
		workDir: filepath.Join(t.TempDir(), "src"), webhook: "http://" + m.Addr + "/webhooks/github"}
	return &e2e{ctx: ctx, m: m, fake: fake, d: d}
}

// removeCacheVolumesAtEnd removes, once the test is over (after the serve
// that the caller starts next has stopped), the cache volumes its runs left
// on the daemon: they outlive runs by design, and the test's instance goes
// with its database.
func removeCacheVolumesAtEnd(t *testing.T, m *Main) {
	if d, ok := m.Runtime.(*runner.Docker); ok {
		t.Cleanup(func() { runnertest.RemoveCacheVolumes(t, d, d.Instance) })
	}
}
