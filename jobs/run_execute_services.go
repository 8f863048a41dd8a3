package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// runningService is a started service whose output is being logged into
// its own step row until the run's containers are removed.
type runningService struct {
	stepID int64
	out    *stopWriter
	stream *runner.LogStream
}

// startServices starts the pipeline's services, each logged as a step
// placed after the steps, and waits until each is healthy. A service that
// never becomes healthy fails the run as a configuration error naming its
// line; a runtime without services (the shell) refuses them the same way.
func (ex *execution) startServices(ctx context.Context, p *runner.Pipeline) (o outcome, failed bool) {
	if len(p.Services) == 0 {
		return outcome{}, false
	}
	rt, ok := ex.w.Config.Runtime.(runner.Services)
	if !ok {
		return outcome{state: store.RunFailed, category: triage.CategoryConfiguration, err: &runner.ConfigError{Line: p.Services[0].Line,
			Msg: fmt.Sprintf("services need the docker executor; this Sentinel runs steps with %s", ex.w.Config.Runtime.Name())}}, true
	}
	for i, svc := range p.Services {
		image := svc.Image
		if r, ok := ex.w.Config.ImageRewrite[image]; ok {
			image = r
		}
		stepID, _, err := store.InsertStep(ctx, ex.w.DB, store.NewStep{RunID: ex.run.ID, Position: len(p.Steps) + i,
			Name: "service " + svc.Name, Image: image, Command: svc.Command, State: triage.StepRunning})
		if err != nil {
			return ex.failure(ctx, err), true
		}
		opts := ex.w.Config.Log
		opts.Secrets = ex.secrets
		stream := runner.NewLogStream(ctx, func(ctx context.Context, stepID int64, seq, firstLine int, data []byte) error {
			return store.AppendLogChunk(ctx, ex.w.DB, ex.run.ID, store.LogChunk{StepID: stepID, Seq: seq, FirstLine: firstLine, Data: data})
		}, stepID, opts)
		rs := &runningService{stepID: stepID, out: &stopWriter{w: stream}, stream: stream}
		ex.services = append(ex.services, rs)
		spec := runner.ServiceSpec{RunID: ex.run.ID, Service: svc, Limits: ex.limits(p), Output: rs.out}
		spec.Image = image
		err = rt.StartService(ctx, spec)
		switch {
		case errors.Is(err, runner.ErrUnhealthy):
			fmt.Fprintf(rs.out, "sentinel: %v\n", err)
			return outcome{state: store.RunFailed, category: triage.CategoryConfiguration, err: svc.UnhealthyError(err)}, true
		case err != nil:
			return ex.failure(ctx, err), true
		}
		fmt.Fprintf(rs.out, "sentinel: service %s is ready, as %s:… on the run's network\n", svc.Name, svc.Name)
	}
	return outcome{}, false
}

// finishServices ends the services' log streams and rows, once Cleanup has
// removed their containers: a service that was started ends succeeded,
// unless the run failed because of it.
func (ex *execution) finishServices(ctx context.Context, o outcome) {
	for _, rs := range ex.services {
		rs.out.stop()
		stats, err := rs.stream.Close()
		if err != nil {
			ex.log.Warn("storing a service log failed", "err", err)
		}
		end := store.StepEnd{State: triage.StepSucceeded, LogBytes: stats.Bytes, LogTruncated: stats.Truncated}
		var ce *runner.ConfigError
		if errors.As(o.err, &ce) && rs == ex.services[len(ex.services)-1] && o.category == triage.CategoryConfiguration {
			end.State, end.Error = triage.StepFailed, runner.MaskString(ce.Msg, ex.secrets)
		}
		if err := store.FinishStep(ctx, ex.w.DB, rs.stepID, end); err != nil {
			ex.log.Warn("finishing a service's step failed", "err", err)
		}
	}
}

// stopWriter passes writes on until stopped, then drops them: a service's
// output may still arrive while its container is being removed.
type stopWriter struct {
	mu      sync.Mutex
	w       io.Writer
	stopped bool
}

func (s *stopWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return len(p), nil
	}
	return s.w.Write(p)
}

func (s *stopWriter) stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
}
