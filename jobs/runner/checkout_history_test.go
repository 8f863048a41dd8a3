package runner_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
)

func TestCheckoutHistory(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	shas := runnertest.MakeRepo(t, root, "acme/app",
		map[string]string{"README": "0\n"}, map[string]string{"README": "1\n"},
		map[string]string{"README": "2\n"}, map[string]string{"README": "3\n"})
	srv := runnertest.GitServer(t, root, runnertest.Token)
	ctx := context.Background()
	c := runner.Checkout{CloneURL: srv.URL + "/acme/app.git", SHA: shas[3], Token: runnertest.Token, Dir: filepath.Join(t.TempDir(), "h")}
	commits, err := c.History(ctx, shas[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(commits) != 3 {
		t.Fatalf("%d commits, want the 3 after the good one: %+v", len(commits), commits)
	}
	for i, cm := range commits {
		if cm.SHA != shas[i+1] || cm.Author == "" {
			t.Errorf("commit %d: %+v, want %s with its author", i, cm, shas[i+1])
		}
	}
	// A "good" commit after the bad one is not its ancestor.
	c = runner.Checkout{CloneURL: srv.URL + "/acme/app.git", SHA: shas[1], Token: runnertest.Token, Dir: filepath.Join(t.TempDir(), "h")}
	var de *runner.DataError
	if _, err := c.History(ctx, shas[3]); !errors.As(err, &de) {
		t.Errorf("reversed range: err %v, want a DataError", err)
	}
}
