package runner

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestShowFile(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	os.MkdirAll(filepath.Join(dir, ".github"), 0o755)
	os.WriteFile(filepath.Join(dir, ".github", "CODEOWNERS"), []byte("* @octo\n"), 0o644)
	git("add", ".")
	git("commit", "-q", "-m", "owners")
	sha := git("rev-parse", "HEAD")
	os.WriteFile(filepath.Join(dir, ".github", "CODEOWNERS"), []byte("* @someone-else\n"), 0o644) // not committed

	ctx := context.Background()
	data, ok, err := ShowFile(ctx, "file://"+dir, sha, ".github/CODEOWNERS")
	if err != nil || !ok || string(data) != "* @octo\n" {
		t.Errorf("at the commit: %q %v %v", data, ok, err)
	}
	if _, ok, err := ShowFile(ctx, "file://"+dir, sha, "CODEOWNERS"); ok || err != nil {
		t.Errorf("missing file: ok %v err %v", ok, err)
	}
	if _, _, err := ShowFile(ctx, "https://github.com/octo/app.git", sha, "CODEOWNERS"); !errors.Is(err, ErrNoLocalCopy) {
		t.Errorf("remote repository: %v, want ErrNoLocalCopy", err)
	}
	if _, _, err := ShowFile(ctx, "file://"+dir, "--output=/tmp/x", "CODEOWNERS"); err == nil {
		t.Errorf("a SHA that is an option was accepted")
	}
}
