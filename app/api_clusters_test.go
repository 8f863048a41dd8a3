package app

import (
	"context"
	"fmt"
	"testing"
)

// The API names a cluster as the dashboard does: by the name a person gave
// it, else by its representative failure, with the raw message beside it;
// the normalised text it is keyed by is its template, never its title.
func TestAPIClusterTitleIsReadable(t *testing.T) {
	t.Parallel()
	ds := newDashServer(t, Options{})
	s := seedDashboard(t, ds.DB)
	const template = "TestEvict failed: want <n> entries, got <n>"
	if _, err := ds.DB.Exec(context.Background(), `UPDATE clusters SET title = $2 WHERE id = $1`, s.Cluster, template); err != nil {
		t.Fatal(err)
	}
	listed := func() map[string]any {
		t.Helper()
		status, m := apiDo(t, "GET", ds.url+"/api/clusters", "")
		cs, _ := m["clusters"].([]any)
		if status != 200 || len(cs) != 1 {
			t.Fatalf("GET /api/clusters: %d %v", status, m)
		}
		return cs[0].(map[string]any)
	}
	c := listed()
	if c["title"] != "TestEvict failed" || c["example"] != "want 3 entries, got 2" || c["template"] != template {
		t.Errorf("cluster as listed: title %q, example %q, template %q; want the failure's title, its raw message and the normalised text",
			c["title"], c["example"], c["template"])
	}

	status, m := apiDo(t, "POST", fmt.Sprintf("%s/api/clusters/%d/rename", ds.url, s.Cluster), `{"title": "Eviction order"}`)
	renamed, _ := m["cluster"].(map[string]any)
	if status != 200 || renamed["title"] != "Eviction order" || renamed["template"] != template {
		t.Errorf("rename answered %d %v, want the new title and the same template", status, m)
	}
	if c := listed(); c["title"] != "Eviction order" || c["example"] != "want 3 entries, got 2" || c["template"] != template {
		t.Errorf("renamed cluster as listed: %v", c)
	}
}
