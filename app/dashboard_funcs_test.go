package app

import (
	"testing"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// TestStateIcons: every run and step state has its glyph, so a new state
// cannot show up bare on the dashboard.
func TestStateIcons(t *testing.T) {
	t.Parallel()
	for _, s := range store.RunStates {
		if stateIcon(s) == "" {
			t.Errorf("run state %s has no icon", s)
		}
	}
	for _, s := range triage.StepStates {
		if stateIcon(s) == "" {
			t.Errorf("step state %s has no icon", s)
		}
	}
}
