package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Service is a container beside a run's steps (services: in the file),
// reachable from them by Name on the run's own network.
type Service struct {
	Name    string
	Image   string
	Env     map[string]string
	Command string // "" runs the image's own command; else /bin/sh -c
	// Health is a command run inside the service until it exits 0; "" means
	// the service is ready once started. HealthTimeout bounds the wait.
	Health         string
	HealthInterval time.Duration
	HealthTimeout  time.Duration
	Line           int // where the file defines it, for errors
}

// ServiceSpec is a service as the runtime starts it.
type ServiceSpec struct {
	RunID int64
	Service
	Limits Limits
	Output io.Writer // the service's output, for as long as it runs
}

// Services is what a runtime that can start services implements (Docker).
// StartService returns once the service is healthy; ErrUnhealthy (wrapped)
// when its health check never passed in time. Every step of the run then
// joins the run's network (StepSpec.Services); Cleanup removes services
// and network with the run.
type Services interface {
	StartService(ctx context.Context, spec ServiceSpec) error
}

// ErrUnhealthy: a service did not pass its health check within its time-out.
var ErrUnhealthy = errors.New("service never became healthy")

// UnhealthyError is the configuration failure of a service that never
// became healthy, naming its line.
func (s Service) UnhealthyError(err error) *ConfigError {
	return &ConfigError{Line: s.Line, Msg: fmt.Sprintf("service %q: %v", s.Name, err)}
}
