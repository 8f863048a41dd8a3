package app

import (
	"html/template"
	"net/http"

	"github.com/sentinel-ci/sentinel/store"
)

// minChartPoints is the fewest days the duration chart needs: two dots and
// a line tell nothing a sentence does not.
const minChartPoints = 3

type overviewView struct {
	page
	store.Overview
	DurationChart template.HTML
	DeadJobs      int
}

func (s *Server) handleOverview(w http.ResponseWriter, r *http.Request) {
	v := overviewView{page: s.newPage(w, r, "Overview", "overview")}
	o, err := store.GetOverview(r.Context(), s.DB, v.Now)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Overview = o
	if len(o.Durations) >= minChartPoints {
		v.DurationChart = durationChart(o.Durations)
	}
	for _, q := range o.Queues {
		v.DeadJobs += int(q.Discarded)
	}
	s.render(w, r, http.StatusOK, "overview", v)
}
