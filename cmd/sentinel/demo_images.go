package main

import (
	"context"
	"os/exec"
	"runtime"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/sentinel-ci/sentinel/jobs/runner"
)

func missingImages(ctx context.Context, d *runner.Docker, images []string) ([]string, error) {
	var missing []string
	for _, img := range images {
		if _, err := d.Client().ImageInspect(ctx, img); err != nil {
			if !cerrdefs.IsNotFound(err) {
				return nil, err
			}
			missing = append(missing, img)
		}
	}
	return missing, nil
}

func pullImages(ctx context.Context, d *runner.Docker, images []string) error {
	for _, img := range images {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		pull, err := d.Client().ImagePull(pctx, img, client.ImagePullOptions{})
		if err == nil {
			err = pull.Wait(pctx)
		}
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

// goRoot is the Go toolchain copied into the local Go image.
func goRoot() string {
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		return strings.TrimSpace(string(out))
	}
	return runtime.GOROOT()
}
