package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/sentinel-ci/sentinel/app/intake"
	"github.com/sentinel-ci/sentinel/jobs"
)

// replay processes a stored delivery again, as if GitHub had just sent it;
// run identity still keeps it from creating a run that exists.
func (m *Main) replay(ctx context.Context, deliveryID string, stdout io.Writer) error {
	if err := m.Open(ctx); err != nil {
		return err
	}
	rc, err := m.newRiver(false)
	if err != nil {
		return err
	}
	in := intake.New(m.DB, rc, &jobs.Actions{DB: m.DB, River: rc}, m.Log)
	in.Hosts = intake.CloneHosts{GitHub: intake.WebHost(m.Config.GitHubAPIURL), AllowLocal: m.Config.AllowLocalRepos}
	res, err := in.Replay(ctx, deliveryID)
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	fmt.Fprintln(stdout, string(b))
	return nil
}
