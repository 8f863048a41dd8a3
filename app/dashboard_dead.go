package app

import (
	"context"
	"net/http"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// deadJob is a discarded River job as the dead-letter page shows it.
type deadJob struct {
	ID          int64
	Kind        string
	Queue       string
	Args        []byte
	Attempt     int
	MaxAttempts int
	Errors      []rivertype.AttemptError
	CreatedAt   time.Time
	FinalizedAt *time.Time
}

type deadView struct {
	page
	Jobs []deadJob
}

// deadJobs lists discarded jobs, newest first.
func (s *Server) deadJobs(ctx context.Context, limit int) ([]deadJob, error) {
	res, err := s.River.JobList(ctx, river.NewJobListParams().States(rivertype.JobStateDiscarded).
		OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(limit))
	if err != nil {
		return nil, err
	}
	out := make([]deadJob, 0, len(res.Jobs))
	for _, j := range res.Jobs {
		out = append(out, deadJob{ID: j.ID, Kind: j.Kind, Queue: j.Queue, Args: j.EncodedArgs, Attempt: j.Attempt,
			MaxAttempts: j.MaxAttempts, Errors: j.Errors, CreatedAt: j.CreatedAt, FinalizedAt: j.FinalizedAt})
	}
	return out, nil
}

func (s *Server) handleDeadLetters(w http.ResponseWriter, r *http.Request) {
	v := deadView{page: s.newPage(w, r, "Dead letters", "dead")}
	var err error
	if v.Jobs, err = s.deadJobs(r.Context(), 200); err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "dead", v)
}
