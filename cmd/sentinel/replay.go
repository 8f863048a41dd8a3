package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/sentinel-ci/sentinel/app"
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
	s := app.NewServer(m.DB, rc, m.Log, app.Options{PublicURL: m.Config.PublicURL})
	res, err := s.Replay(ctx, deliveryID)
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	fmt.Fprintln(stdout, string(b))
	return nil
}
