package main

import (
	"context"
	"time"

	"github.com/moby/moby/client"

	"github.com/sentinel-ci/sentinel/jobs/runner"
)

// executorAttrs describes the runtime steps run on, for the one line serve
// and worker log at start: the executor, and for Docker the daemon's
// version (one request, given two seconds; its error is logged instead).
func executorAttrs(ctx context.Context, rt runner.Runtime) []any {
	switch rt := rt.(type) {
	case *runner.Docker:
		attrs := []any{"executor", "docker"}
		vctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		v, err := rt.Client().ServerVersion(vctx, client.ServerVersionOptions{})
		if err != nil {
			return append(attrs, "docker_version_err", err.Error())
		}
		return append(attrs, "docker_version", v.Version, "docker_api", v.APIVersion)
	case *runner.Shell:
		return []any{"executor", "shell", "isolation", "none: steps run as host processes", "home", rt.Home}
	default:
		return []any{"executor", rt.Name()}
	}
}
