package jobs

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// secretsPipeline: "uses" names API_TOKEN, proves it has the right value
// without printing it whole, then prints it (to be masked) and writes it
// into a JUnit failure (to be masked in the stored results); "other" names
// nothing and must not see it.
func secretsPipeline(sum string) string {
	return `image: busybox
steps:
  - name: uses
    secrets: [API_TOKEN]
    results: junit:report.xml
    run: |
      test "$(printf %s "$API_TOKEN" | md5sum | cut -d' ' -f1)" = "` + sum + `" || { echo "wrong or missing value"; exit 3; }
      echo "token is $API_TOKEN"
      printf '<testsuite><testcase classname="c" name="leaks"><failure message="got %s">%s</failure></testcase></testsuite>' "$API_TOKEN" "$API_TOKEN" > report.xml
  - name: other
    run: echo "other sees ${API_TOKEN:-nothing}"
`
}

// upsertRepo creates the repository enqueue will use, so that secrets can
// be set before the run.
func (h *harness) upsertRepo(cloneURL string) int64 {
	h.t.Helper()
	id, err := store.UpsertRepository(context.Background(), h.db, store.Repository{FullName: "acme/" + filepath.Base(cloneURL),
		InstallationID: testInstallation, CloneURL: cloneURL})
	if err != nil {
		h.t.Fatal(err)
	}
	return id
}

// enqueuePR creates a pull request run whose head is headRepo.
func (h *harness) enqueuePR(cloneURL, sha, headRepo string) int64 {
	h.t.Helper()
	ctx := context.Background()
	var runID int64
	err := h.db.InTx(ctx, func(tx pgx.Tx) error {
		repoID := h.upsertRepo(cloneURL)
		var err error
		runID, _, err = store.InsertRun(ctx, tx, store.NewRun{RepositoryID: repoID, SHA: sha, Branch: "feature", PRNumber: 7,
			HeadRepo: headRepo, CloneURL: cloneURL, Trigger: "pull_request"})
		if err != nil {
			return err
		}
		_, err = h.client.InsertTx(ctx, tx, RunExecuteArgs{RunID: runID}, nil)
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return runID
}

func TestRunExecuteSecrets(t *testing.T) {
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, true)
	ctx := context.Background()
	actions := &Actions{DB: h.db, River: h.client, Secrets: testSecretBox()}
	const value = "s3cr3t-Value-42"
	sum := md5.Sum([]byte(value))
	files := map[string]string{".sentinel.yml": secretsPipeline(hex.EncodeToString(sum[:]))}

	t.Run("repository secret reaches only the step that names it, masked everywhere", func(t *testing.T) {
		cloneURL, sha := h.repo(files)
		repoID := h.upsertRepo(cloneURL)
		if err := actions.SetSecret(ctx, store.SecretScope{RepositoryID: repoID}, "API_TOKEN", []byte(value), "test"); err != nil {
			t.Fatal(err)
		}
		runID, _ := h.enqueue(cloneURL, sha)
		run := h.waitRun(runID, 2*time.Minute)
		steps := h.steps(runID)
		if run.State != store.RunSucceeded {
			t.Fatalf("run %s: %s; log: %s", run.State, run.Error, h.stepLog(steps[0].ID))
		}
		uses, other := h.stepLog(steps[0].ID), h.stepLog(steps[1].ID)
		if !strings.Contains(uses, "token is ***") || strings.Contains(uses, value) {
			t.Errorf("log of the step naming the secret: %q", uses)
		}
		if !strings.Contains(other, "other sees nothing") {
			t.Errorf("the step naming no secret saw one: %q", other)
		}
		results, err := store.ListTestResults(ctx, h.db, runID)
		if err != nil {
			t.Fatal(err)
		}
		if len(results) != 1 || !strings.Contains(results[0].Message, "got ***") || strings.Contains(results[0].Message, value) {
			t.Errorf("stored results: %+v", results)
		}
		var sealed []byte
		if err := h.db.QueryRow(ctx, `SELECT sealed FROM secrets WHERE repository_id = $1`, repoID).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(sealed, []byte(value)) {
			t.Error("the secret is stored in clear")
		}
		audit, err := store.ListAudit(ctx, h.db, "repository", repoID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(audit) != 1 || audit[0].Action != "secret.set" || audit[0].Details["name"] != "API_TOKEN" {
			t.Errorf("audit: %+v", audit)
		}
	})

	t.Run("installation secret serves its repositories", func(t *testing.T) {
		if err := actions.SetSecret(ctx, store.SecretScope{InstallationID: testInstallation}, "API_TOKEN", []byte(value), "test"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			actions.DeleteSecret(ctx, store.SecretScope{InstallationID: testInstallation}, "API_TOKEN", "test")
		})
		cloneURL, sha := h.repo(files)
		runID, _ := h.enqueue(cloneURL, sha)
		if run := h.waitRun(runID, 2*time.Minute); run.State != store.RunSucceeded {
			t.Fatalf("run %s: %s; log: %s", run.State, run.Error, h.stepLog(h.steps(runID)[0].ID))
		}
	})

	t.Run("a pull request from a fork gets no secret", func(t *testing.T) {
		cloneURL, sha := h.repo(files)
		repoID := h.upsertRepo(cloneURL)
		if err := actions.SetSecret(ctx, store.SecretScope{RepositoryID: repoID}, "API_TOKEN", []byte(value), "test"); err != nil {
			t.Fatal(err)
		}
		runID := h.enqueuePR(cloneURL, sha, "mallory/fork")
		run := h.waitRun(runID, 2*time.Minute)
		steps := h.steps(runID)
		log := h.stepLog(steps[0].ID)
		if run.State != store.RunFailed || !strings.Contains(log, "wrong or missing value") || !strings.Contains(log, "gets no secrets: API_TOKEN not set") {
			t.Errorf("fork run %s (%s), log %q", run.State, run.Error, log)
		}
	})

	t.Run("unknown secret is a configuration failure naming the line", func(t *testing.T) {
		cloneURL, sha := h.repo(map[string]string{".sentinel.yml": "image: busybox\nsteps:\n  - name: s\n    run: 'true'\n    secrets:\n      - NOT_SET\n"})
		runID, _ := h.enqueue(cloneURL, sha)
		run := h.waitRun(runID, 2*time.Minute)
		if run.State != store.RunFailed || run.Category != triage.CategoryConfiguration ||
			!strings.Contains(run.Error, ".sentinel.yml line 6:") || !strings.Contains(run.Error, "NOT_SET is not set") {
			t.Errorf("run %s %s: %s", run.State, run.Category, run.Error)
		}
	})
}

func TestSecretBox(t *testing.T) {
	box := testSecretBox()
	a, b := store.SecretScope{RepositoryID: 1}, store.SecretScope{RepositoryID: 2}
	sealed := box.Seal(a, "K", []byte("value"))
	if v, err := box.Open(a, "K", sealed); err != nil || string(v) != "value" {
		t.Fatalf("open: %q %v", v, err)
	}
	if _, err := box.Open(b, "K", sealed); err == nil {
		t.Error("a sealed value moved to another repository opened")
	}
	if _, err := box.Open(a, "L", sealed); err == nil {
		t.Error("a sealed value moved to another name opened")
	}
	other, _ := NewSecretBox(bytes.Repeat([]byte{7}, 32))
	if _, err := other.Open(a, "K", sealed); err == nil {
		t.Error("opened with another key")
	}
}

func TestSecretKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "secret.key")
	k1, err := SecretKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := SecretKeyFile(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second read: %x %v, want %x", k2, err, k1)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	if _, err := ParseSecretKey("too short"); err == nil {
		t.Error("a short key was accepted")
	}
}

// TestRunExecuteSecretUnderOtherKey: a secret sealed under another key
// fails only the runs that name it, with a configuration error saying so.
func TestRunExecuteSecretUnderOtherKey(t *testing.T) {
	h := newHarness(t, runnertest.Docker(t), true)
	ctx := context.Background()
	other, _ := NewSecretBox(bytes.Repeat([]byte{9}, 32))
	old := &Actions{DB: h.db, River: h.client, Secrets: other}
	named, sha1 := h.repo(map[string]string{".sentinel.yml": "image: busybox\nsteps:\n  - run: echo named\n    secrets: [OLD]\n"})
	unnamed, sha2 := h.repo(map[string]string{".sentinel.yml": "image: busybox\nsteps:\n  - run: echo unnamed\n"})
	for _, u := range []string{named, unnamed} {
		if err := old.SetSecret(ctx, store.SecretScope{RepositoryID: h.upsertRepo(u)}, "OLD", []byte("sealed-elsewhere"), "test"); err != nil {
			t.Fatal(err)
		}
	}
	r1, _ := h.enqueue(named, sha1)
	if run := h.waitRun(r1, 2*time.Minute); run.State != store.RunFailed || run.Category != triage.CategoryConfiguration ||
		!strings.Contains(run.Error, "does not open with this key") {
		t.Errorf("run naming it: %s %s %q", run.State, run.Category, run.Error)
	}
	r2, _ := h.enqueue(unnamed, sha2)
	if run := h.waitRun(r2, 2*time.Minute); run.State != store.RunSucceeded {
		t.Errorf("run naming no secret: %s %q", run.State, run.Error)
	}
}
