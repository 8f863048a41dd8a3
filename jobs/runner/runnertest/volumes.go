package runnertest

import (
	"context"
	"testing"

	"github.com/moby/moby/client"
	"github.com/sentinel-ci/sentinel/jobs/runner"
)

// RemoveCacheVolumes removes the cache volumes that runs of instance left
// on d's daemon: they outlive runs by design, and a test's would otherwise
// stay behind (about 1 GB a CI run).
func RemoveCacheVolumes(t testing.TB, d *runner.Docker, instance string) {
	ctx := context.Background()
	list, err := d.Client().VolumeList(ctx, client.VolumeListOptions{Filters: client.Filters{}.Add("label", runner.LabelInstance+"="+instance)})
	if err != nil {
		t.Logf("listing cache volumes: %v", err)
		return
	}
	for _, v := range list.Items {
		if _, err := d.Client().VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil {
			t.Logf("removing cache volume %s: %v", v.Name, err)
		}
	}
}
