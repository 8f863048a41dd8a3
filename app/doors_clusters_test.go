package app

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// clusterPeer remembers, per subject cluster, the other id a door must
// name (the cluster merged into it, the failure split off).
type clusterPeer struct {
	mu sync.Mutex
	m  map[int64]int64
}

func (p *clusterPeer) set(id, other int64) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[int64]int64{}
	}
	p.m[id] = other
	return id
}

func (p *clusterPeer) get(id int64) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[id]
}

// clusterDoors are the form and the API of a cluster action whose input
// names another id (field "cluster" or "failure"), taken from peers.
func clusterDoors(action, field string, peers *clusterPeer) []door {
	return []door{
		{"form", func(t *testing.T, d *doorServer, id int64) int {
			v := url.Values{"csrf": {d.csrf}, field: {fmt.Sprint(peers.get(id))}}
			status, _, _ := postForm(t, d.c, d.url+fmt.Sprintf("/clusters/%d/%s", id, action), v)
			return status
		}},
		{"api", func(t *testing.T, d *doorServer, id int64) int {
			status, _ := apiDo(t, "POST", d.url+fmt.Sprintf("/api/clusters/%d/%s", id, action), fmt.Sprintf(`{%q: %d}`, field, peers.get(id)))
			return status
		}},
	}
}

// clusterFailure inserts a failure of cluster with its own message.
func (d *doorServer) clusterFailure(t *testing.T, cluster int64, msg string) int64 {
	t.Helper()
	run := d.run(t, "failed")
	return d.insert(t, `INSERT INTO failures (run_id, cluster_id, category, title, message, fingerprint, normalized_message, identity)
		VALUES ($1, $2, 'test', 'TestX failed', $3, $4, $3, 'example.com/app.TestX') RETURNING id`, run, cluster, msg, fmt.Sprintf("fp-f%d", run))
}

func TestMergeClustersThroughEveryDoor(t *testing.T) {
	t.Parallel()
	d := newDoorServer(t)
	peers := &clusterPeer{}
	testDoors(t, d, clusterDoors("merge", "cluster", peers), []doorCase{
		{name: "two clusters", setup: func(t *testing.T, d *doorServer) int64 { return peers.set(d.cluster(t), d.cluster(t)) },
			want: http.StatusOK, check: func(t *testing.T, d *doorServer, door string, id int64) {
				from := peers.get(id)
				if n := d.count(t, `SELECT count(*) FROM clusters WHERE id = $1`, from); n != 0 {
					t.Errorf("merged cluster remains")
				}
				if n := d.count(t, `SELECT count(*) FROM cluster_aliases a JOIN clusters c ON c.id = a.cluster_id WHERE c.id = $1`, id); n != 1 {
					t.Errorf("aliases of the kept cluster: %d", n)
				}
				if n := d.count(t, `SELECT occurrences FROM clusters WHERE id = $1`, id); n != 2 {
					t.Errorf("occurrences %d, want 2", n)
				}
				d.auditedBy(t, door, "cluster.merge", id)
			}},
		{name: "into itself", setup: func(t *testing.T, d *doorServer) int64 { c := d.cluster(t); return peers.set(c, c) },
			want: http.StatusConflict},
		{name: "unknown cluster", setup: func(t *testing.T, d *doorServer) int64 { return peers.set(d.cluster(t), noSuchID) },
			want: http.StatusNotFound},
	})
}

func TestSplitClusterThroughEveryDoor(t *testing.T) {
	t.Parallel()
	d := newDoorServer(t)
	peers := &clusterPeer{}
	testDoors(t, d, clusterDoors("split", "failure", peers), []doorCase{
		{name: "a mis-grouped failure", setup: func(t *testing.T, d *doorServer) int64 {
			c := d.cluster(t)
			d.clusterFailure(t, c, "want N, got N")
			return peers.set(c, d.clusterFailure(t, c, "connection refused"))
		}, want: http.StatusOK, check: func(t *testing.T, d *doorServer, door string, id int64) {
			f := peers.get(id)
			if n := d.count(t, `SELECT count(*) FROM failures f JOIN clusters c ON c.id = f.cluster_id
				WHERE f.id = $1 AND c.id <> $2 AND c.pinned`, f, id); n != 1 {
				t.Errorf("failure %d not in a pinned cluster of its own", f)
			}
			if n := d.count(t, `SELECT count(*) FROM failures WHERE cluster_id = $1`, id); n != 1 {
				t.Errorf("%d failures left in the cluster, want 1", n)
			}
			d.auditedBy(t, door, "cluster.split", id)
		}},
		{name: "a failure of another cluster", setup: func(t *testing.T, d *doorServer) int64 {
			return peers.set(d.cluster(t), d.clusterFailure(t, d.cluster(t), "boom"))
		}, want: http.StatusConflict},
	})
}

func TestMuteAndRenameClusterThroughEveryDoor(t *testing.T) {
	t.Parallel()
	d := newDoorServer(t)
	testDoors(t, d, []door{formDoor("/clusters/%d/mute"), apiDoor("/api/clusters/%d/mute", "{}")}, []doorCase{
		{name: "cluster", setup: func(t *testing.T, d *doorServer) int64 { return d.cluster(t) }, want: http.StatusOK,
			check: func(t *testing.T, d *doorServer, door string, id int64) {
				if n := d.count(t, `SELECT count(*) FROM clusters WHERE id = $1 AND muted`, id); n != 1 {
					t.Errorf("not muted")
				}
				d.auditedBy(t, door, "cluster.mute", id)
			}},
		{name: "unknown cluster", setup: func(*testing.T, *doorServer) int64 { return noSuchID }, want: http.StatusNotFound},
	})
	testDoors(t, d, []door{formDoor("/clusters/%d/rename", "title", "Checkout flake"), apiDoor("/api/clusters/%d/rename", `{"title": "Checkout flake"}`)}, []doorCase{
		{name: "cluster", setup: func(t *testing.T, d *doorServer) int64 { return d.cluster(t) }, want: http.StatusOK,
			check: func(t *testing.T, d *doorServer, door string, id int64) {
				if got := d.str(t, `SELECT custom_title FROM clusters WHERE id = $1`, id); got != "Checkout flake" {
					t.Errorf("title %q", got)
				}
				d.auditedBy(t, door, "cluster.rename", id)
			}},
	})
	testDoors(t, d, []door{formDoor("/clusters/%d/explode"), apiDoor("/api/clusters/%d/explode", "{}")}, []doorCase{
		{name: "unknown action", setup: func(t *testing.T, d *doorServer) int64 { return d.cluster(t) }, want: http.StatusNotFound},
	})
}

// The cluster page offers every cluster action, each form with its CSRF
// token, and a split button per message.
func TestClusterPageOffersControl(t *testing.T) {
	t.Parallel()
	d := newDoorServer(t)
	c := d.cluster(t)
	f := d.clusterFailure(t, c, "connection refused")
	status, body := get(t, d.c, fmt.Sprintf("%s/clusters/%d", d.url, c))
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	for _, want := range []string{
		fmt.Sprintf(`action="/clusters/%d/rename"`, c), fmt.Sprintf(`action="/clusters/%d/mute"`, c),
		fmt.Sprintf(`action="/clusters/%d/merge"`, c), fmt.Sprintf(`action="/clusters/%d/split"`, c),
		fmt.Sprintf(`name="failure" value="%d"`, f), `name="csrf"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("cluster page lacks %s", want)
		}
	}
}
