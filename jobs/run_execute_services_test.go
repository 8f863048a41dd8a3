package jobs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/jobs/runner/runnertest"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// TestRunExecuteServices: a step reaches a busybox httpd service by its
// name on the run's network; the service's log is kept as a step; the
// service and the network go with the run. A service whose health check
// never passes fails the run as a configuration error naming its line.
func TestRunExecuteServices(t *testing.T) {
	rt := runnertest.Docker(t)
	h := newHarness(t, rt, true)
	docker := h.rt.(*runner.Docker)

	t.Run("reachable by name", func(t *testing.T) {
		cloneURL, sha := h.repo(map[string]string{".sentinel.yml": `image: busybox
services:
  - name: web
    image: busybox
    env: {GREETING: hello-from-web}
    command: mkdir -p /www && echo "$GREETING" > /www/index.html && echo serving && httpd -f -v -p 8080 -h /www
    health:
      run: wget -q -O /dev/null http://127.0.0.1:8080/
      interval: 200ms
      timeout: 30s
steps:
  - name: client
    run: wget -q -O- http://web:8080/
`})
		runID, _ := h.enqueue(cloneURL, sha)
		run := h.waitRun(runID, 2*time.Minute)
		steps := h.steps(runID)
		if run.State != store.RunSucceeded {
			for _, s := range steps {
				t.Logf("%s %s: %s", s.Name, s.State, h.stepLog(s.ID))
			}
			t.Fatalf("run %s: %s", run.State, run.Error)
		}
		if len(steps) != 2 || steps[1].Name != "service web" || steps[1].State != triage.StepSucceeded {
			t.Fatalf("steps %+v", stepRows(steps))
		}
		if log := h.stepLog(steps[0].ID); !strings.Contains(log, "hello-from-web") {
			t.Errorf("client log %q", log)
		}
		if log := h.stepLog(steps[1].ID); !strings.Contains(log, "serving") || !strings.Contains(log, "is ready") {
			t.Errorf("service log %q", log)
		}
		nets, err := docker.Client().NetworkList(context.Background(), client.NetworkListOptions{
			Filters: client.Filters{}.Add("label", runner.LabelInstance+"="+docker.Instance)})
		if err != nil || len(nets.Items) != 0 {
			t.Errorf("networks left: %d (%v)", len(nets.Items), err)
		}
		h.assertClean(runID)
	})

	t.Run("never healthy", func(t *testing.T) {
		cloneURL, sha := h.repo(map[string]string{".sentinel.yml": `image: busybox
services:
  - name: db
    image: busybox
    command: sleep 600
    health:
      run: nc -z 127.0.0.1 5432
      interval: 200ms
      timeout: 2s
steps:
  - run: echo unreachable
`})
		runID, _ := h.enqueue(cloneURL, sha)
		run := h.waitRun(runID, 2*time.Minute)
		if run.State != store.RunFailed || run.Category != triage.CategoryConfiguration ||
			!strings.HasPrefix(run.Error, `.sentinel.yml line 3: service "db": service never became healthy within 2s`) {
			t.Errorf("run %s %s: %s", run.State, run.Category, run.Error)
		}
		if rows := stepRows(h.steps(runID)); len(rows) != 2 || rows[0].State != "skipped" || rows[1].State != "failed" {
			t.Errorf("steps %+v", rows)
		}
		h.assertClean(runID)
	})
}

// TestRunExecuteServicesRefusedByShell: the shell executor cannot run
// services and says so, naming the line.
func TestRunExecuteServicesRefusedByShell(t *testing.T) {
	h := newHarness(t, runner.NewShell(), true)
	cloneURL, sha := h.repo(map[string]string{".sentinel.yml": "image: busybox\nsteps:\n  - run: 'true'\nservices:\n  - name: db\n    image: postgres:17\n"})
	runID, _ := h.enqueue(cloneURL, sha)
	run := h.waitRun(runID, time.Minute)
	if run.State != store.RunFailed || run.Category != triage.CategoryConfiguration ||
		run.Error != ".sentinel.yml line 5: services need the docker executor; this Sentinel runs steps with shell" {
		t.Errorf("run %s %s: %s", run.State, run.Category, run.Error)
	}
}
