package runner

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// WorkspaceRemover is implemented by runtimes whose steps can leave files
// in the workspace that the runner's own user cannot delete (root-owned
// files written by a container when Sentinel is not root).
type WorkspaceRemover interface {
	RemoveWorkspace(ctx context.Context, runID int64, dir, image string) error
}

// RemoveWorkspace empties dir from inside a container (as root there) using
// image, which a step of the run has already used, so it is present.
func (d *Docker) RemoveWorkspace(ctx context.Context, runID int64, dir, image string) error {
	var out strings.Builder
	res, err := d.RunStep(ctx, StepSpec{
		RunID: runID, Name: "remove workspace", Workspace: dir, Image: image, Network: "none",
		Command: "rm -rf " + WorkspaceMount + "/* " + WorkspaceMount + "/.[!.]* " + WorkspaceMount + "/..?*",
		Stdout:  io.Discard, Stderr: &limitedWriter{w: &out, n: 4096},
	})
	if err != nil {
		return err
	}
	if res.Failed() {
		return fmt.Errorf("remove workspace in a container: exit %d: %s", res.ExitCode, out.String())
	}
	return nil
}

// limitedWriter keeps at most n bytes.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.n -= k
		l.w.Write(p[:k])
	}
	return len(p), nil
}
