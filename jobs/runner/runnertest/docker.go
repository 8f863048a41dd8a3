// Package runnertest is test support for code that runs steps: a Docker
// runtime with the local images built, git repositories served over smart
// HTTP the way GitHub serves clone URLs, a writer to wait on a step's
// output, and the removal of the cache volumes a test's runs left. Only
// tests import it.
package runnertest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/jobs/runner"
)

var (
	dockerOnce sync.Once
	dockerRT   *runner.Docker
	dockerErr  error
)

// Docker returns a Docker runtime with the local images built
// (runner.LocalImageBusybox, runner.LocalImageGo), skipping the test when no
// daemon answers (failing instead when CI is set). Its Instance is the
// default one; tests that share the daemon with a database take
// WithInstance(runner.InstanceID(...)).
func Docker(t testing.TB) *runner.Docker {
	t.Helper()
	dockerOnce.Do(func() {
		d, err := runner.NewDocker()
		if err != nil {
			dockerErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if err := d.Ping(ctx); err != nil {
			dockerErr = err
			return
		}
		dockerErr = runner.BuildLocalImages(ctx, d.Client(), goRoot())
		// An instance of this test process's own: other processes sharing
		// the daemon (other packages' tests, a running Sentinel) clean up
		// their own instance's containers by run id, and run ids collide.
		dockerRT = d.WithInstance(fmt.Sprintf("test-%d-%d", os.Getpid(), time.Now().UnixNano()))
	})
	if dockerErr != nil {
		// A benchmark that skipped would vanish from make bench unnoticed.
		if _, bench := t.(*testing.B); bench || os.Getenv("CI") != "" {
			t.Fatalf("docker: %v", dockerErr)
		}
		t.Skipf("docker not available: %v", dockerErr)
	}
	return dockerRT
}

func goRoot() string {
	if r := os.Getenv("GOROOT"); r != "" {
		return r
	}
	return "/usr/local/go"
}
