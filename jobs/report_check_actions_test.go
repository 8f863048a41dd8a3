package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

func requestedActionFixture(t *testing.T) map[string]any {
	t.Helper()
	path := filepath.Join("..", "..", "shared", "fixtures", "webhooks", "check_run", "requested_action.payload.json")
	b, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("fixture: %v", err)
		}
		t.Skipf("fixture absent: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseRequestedAction(t *testing.T) {
	t.Parallel()
	m := requestedActionFixture(t)
	b, _ := json.Marshal(m)
	// GitHub's example is another App's check run.
	a, err := ParseRequestedAction(b)
	if !errors.Is(err, ErrNotOurCheckRun) || a.Identifier != "lgtm|26764" {
		t.Errorf("foreign check run: %+v, %v", a, err)
	}
	cr := m["check_run"].(map[string]any)
	cr["name"], cr["external_id"] = CheckName, "42"
	m["requested_action"] = map[string]any{"identifier": ActionQuarantineFlaky}
	b, _ = json.Marshal(m)
	a, err = ParseRequestedAction(b)
	if err != nil {
		t.Fatal(err)
	}
	want := RequestedAction{Identifier: ActionQuarantineFlaky, RunID: 42, CheckRunID: 1494503112, InstallationID: 690857, Repository: "electron/electron", Sender: "codebytere"}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{`{`, `{"action":"created","check_run":{}}`, `[]`} {
		if _, err := ParseRequestedAction([]byte(bad)); err == nil {
			t.Errorf("ParseRequestedAction(%s) accepted it", bad)
		}
	}
}

func FuzzParseRequestedAction(f *testing.F) {
	f.Add([]byte(`{"action":"requested_action","requested_action":{"identifier":"rerun_failed"},"check_run":{"name":"Sentinel","external_id":"1"}}`))
	f.Add([]byte(`{"action":"requested_action","requested_action":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseRequestedAction(b)
		if err == nil && (a.RunID <= 0 || a.Identifier == "") {
			t.Errorf("accepted %q as %+v", b, a)
		}
	})
}

func TestActionRouter(t *testing.T) {
	t.Parallel()
	var got []string
	r := ActionRouter{
		ActionRerunFailed: func(_ context.Context, _ pgx.Tx, a RequestedAction) error {
			got = append(got, a.Identifier)
			return nil
		},
	}
	if err := r.Route(context.Background(), nil, RequestedAction{Identifier: ActionRerunFailed, RunID: 1}); err != nil {
		t.Fatal(err)
	}
	if err := r.Route(context.Background(), nil, RequestedAction{Identifier: "nope"}); !errors.Is(err, ErrUnknownAction) {
		t.Errorf("unknown identifier: %v", err)
	}
	if diff := cmp.Diff([]string{ActionRerunFailed}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
