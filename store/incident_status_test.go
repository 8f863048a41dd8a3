package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
	"github.com/sentinel-ci/sentinel/triage"
)

func TestTransitionIncident(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := context.Background()
	var id int64
	if err := db.QueryRow(ctx, `WITH r AS (INSERT INTO repositories (full_name) VALUES ('o/r') RETURNING id)
		INSERT INTO incidents (repository_id, title) SELECT id, 'broken' FROM r RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		action store.IncidentAction
		want   triage.IncidentStatus
		err    error
	}{
		{store.IncidentReopen, "", store.ErrInvalidTransition},
		{store.IncidentAcknowledge, "mitigating", nil},
		{store.IncidentAcknowledge, "", store.ErrInvalidTransition},
		{store.IncidentResolve, "resolved", nil},
		{store.IncidentResolve, "", store.ErrInvalidTransition},
		{store.IncidentReopen, "open", nil},
	}
	for _, s := range steps {
		got, err := store.TransitionIncident(ctx, db, id, s.action, "tester", "", time.Now())
		if got != s.want || !errors.Is(err, s.err) {
			t.Errorf("%s: %q, %v; want %q, %v", s.action, got, err, s.want, s.err)
		}
	}
	if _, err := store.TransitionIncident(ctx, db, 999, store.IncidentResolve, "tester", "", time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing incident: %v", err)
	}
	events, err := store.IncidentEvents(ctx, db, id, 1000)
	if err != nil || len(events) != 3 {
		t.Errorf("timeline: %d events, %v", len(events), err)
	}
}
