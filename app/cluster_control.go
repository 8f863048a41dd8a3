package app

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// clusterActions are the ways a person corrects a cluster, the same names
// on the dashboard (POST /clusters/{id}/{action}) and the API (POST
// /api/clusters/{id}/{action}).
var clusterActions = []string{"merge", "split", "rename", "mute", "unmute"}

// clusterControl is a cluster action's input, read from a form or a JSON body.
type clusterControl struct {
	Cluster int64  `json:"cluster"` // merge: the cluster merged into this one
	Failure int64  `json:"failure"` // split: a failure of this cluster to move out with its message
	Title   string `json:"title"`   // rename: "" restores the failures' title
}

// controlCluster calls the jobs.Actions method of a cluster action. It
// returns the cluster to show afterwards (the new one for a split) and a
// sentence saying what was done.
func (s *Server) controlCluster(ctx context.Context, id int64, action string, in clusterControl, actor string) (int64, string, error) {
	switch action {
	case "merge":
		if in.Cluster <= 0 {
			return 0, "", clientError(http.StatusBadRequest, "merge needs the id of the cluster to merge into this one")
		}
		return id, fmt.Sprintf("Cluster %d merged into this one.", in.Cluster), s.Actions.MergeClusters(ctx, id, in.Cluster, actor)
	case "split":
		if in.Failure <= 0 {
			return 0, "", clientError(http.StatusBadRequest, "split needs the id of a failure of this cluster")
		}
		nid, err := s.Actions.SplitCluster(ctx, id, in.Failure, actor)
		return nid, fmt.Sprintf("Failures like %d split off from cluster %d.", in.Failure, id), err
	case "rename":
		return id, "Cluster renamed.", s.Actions.RenameCluster(ctx, id, in.Title, actor)
	case "mute", "unmute":
		return id, "Cluster " + action + "d.", s.Actions.MuteCluster(ctx, id, action == "mute", actor)
	}
	return 0, "", clientError(http.StatusNotFound, fmt.Sprintf("no cluster action %q (%s)", action, strings.Join(clusterActions, ", ")))
}

// formID reads an optional positive id from a form field.
func formID(r *http.Request, name string) (int64, error) {
	v := strings.TrimSpace(r.PostFormValue(name))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(v, "#"), 10, 64)
	if err != nil || n <= 0 {
		return 0, clientError(http.StatusBadRequest, fmt.Sprintf("%s: %q is not an id", name, v))
	}
	return n, nil
}
