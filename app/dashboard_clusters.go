package app

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

type clustersView struct {
	page
	Clusters   []clusterRow
	Repos      []store.Repository
	Categories []triage.Category
	Filter     store.ClusterFilter
	Repo       string
	NextURL    string
	SparkDays  int
}

// clusterRow is a cluster in the list with its trend.
type clusterRow struct {
	store.Cluster
	Trend template.HTML
}

// clusterSparkDays is the window of the clusters list's trend column.
const clusterSparkDays = 14

// clusterFilterFromQuery reads the filters and cursor shared by the page and
// the API. The cursor is "UNIXNANO-ID" of the last cluster of a page.
func (s *Server) clusterFilterFromQuery(r *http.Request, q url.Values) (store.ClusterFilter, error) {
	f := store.ClusterFilter{Category: triage.Category(q.Get("category"))}
	if f.Category != "" && !f.Category.Valid() {
		return f, clientError(http.StatusBadRequest, fmt.Sprintf("unknown category %q (one of %s)", f.Category, joinValues(triage.Categories)))
	}
	if name := strings.TrimSpace(q.Get("repo")); name != "" {
		repo, err := store.RepositoryByName(r.Context(), s.DB, name)
		if err != nil {
			return f, clientError(http.StatusNotFound, fmt.Sprintf("no repository %q", name))
		}
		f.RepositoryID = repo.ID
	}
	if c := q.Get("cursor"); c != "" {
		ts, id, ok := strings.Cut(c, "-")
		nanos, err1 := strconv.ParseInt(ts, 10, 64)
		n, err2 := strconv.ParseInt(id, 10, 64)
		if !ok || err1 != nil || err2 != nil || n <= 0 {
			return f, clientError(http.StatusBadRequest, fmt.Sprintf("bad cursor %q", c))
		}
		f.BeforeSeen, f.BeforeID = time.Unix(0, nanos), n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return f, clientError(http.StatusBadRequest, "limit must be a number from 1 to 200")
		}
		f.Limit = n
	}
	return f, nil
}

func clusterCursor(c store.Cluster) string {
	return strconv.FormatInt(c.LastSeenAt.UnixNano(), 10) + "-" + strconv.FormatInt(c.ID, 10)
}

func (s *Server) handleClusters(w http.ResponseWriter, r *http.Request) {
	v := clustersView{page: s.newPage(w, r, "Failure clusters", "clusters"), Repo: r.URL.Query().Get("repo"),
		Categories: triage.Categories, SparkDays: clusterSparkDays}
	f, err := s.clusterFilterFromQuery(r, r.URL.Query())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	f.Now = v.Now
	v.Filter = f
	if v.Repos, err = store.ListRepositories(r.Context(), s.DB); err != nil {
		s.pageError(w, r, err)
		return
	}
	cs, err := store.ListClusters(r.Context(), s.DB, f)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	start := v.Now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(clusterSparkDays - 1))
	daily, err := store.ClustersDaily(r.Context(), s.DB, ids, start)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	for _, c := range cs {
		v.Clusters = append(v.Clusters, clusterRow{Cluster: c, Trend: dailySpark(daily[c.ID], v.Now, clusterSparkDays)})
	}
	if len(cs) == f.Limit {
		q := r.URL.Query()
		q.Del("flash")
		q.Set("cursor", clusterCursor(cs[len(cs)-1]))
		v.NextURL = "/clusters?" + q.Encode()
	}
	s.render(w, r, http.StatusOK, "clusters", v)
}

type clusterView struct {
	page
	C     store.ClusterDetail
	Chart template.HTML
}

func (s *Server) handleCluster(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := clusterView{page: s.newPage(w, r, "", "clusters")}
	if v.C, err = store.GetClusterDetail(r.Context(), s.DB, id, v.Now); err != nil {
		s.pageError(w, r, err)
		return
	}
	if rep := v.C.Representative; rep != nil {
		fs := []store.Failure{*rep}
		run, err := store.GetRun(r.Context(), s.DB, rep.RunID)
		if err == nil {
			err = s.placeFailures(r.Context(), run, fs)
		}
		*rep = fs[0]
		if err != nil {
			s.pageError(w, r, err)
			return
		}
	}
	v.Title = "Cluster " + strconv.FormatInt(id, 10) + " · " + v.C.Repository
	v.Chart = dailyBars(v.C.Daily, v.Now, 30)
	s.render(w, r, http.StatusOK, "cluster", v)
}

// handleClusterForm applies a cluster action from the cluster page.
func (s *Server) handleClusterForm(w http.ResponseWriter, r *http.Request) {
	s.formAction(w, r, func(id int64, actor string) (string, string, error) {
		in := clusterControl{Title: r.PostFormValue("title")}
		var err error
		if in.Cluster, err = formID(r, "cluster"); err != nil {
			return "", "", err
		}
		if in.Failure, err = formID(r, "failure"); err != nil {
			return "", "", err
		}
		to, flash, err := s.controlCluster(r.Context(), id, chi.URLParam(r, "action"), in, actor)
		return fmt.Sprintf("/clusters/%d", to), flash, err
	})
}
