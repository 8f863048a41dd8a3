package githubapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
)

// Recorder stands in for GitHub when Sentinel has no App credentials:
// every write is stored in outbound_calls with the body that would have been
// sent and an answer made up like GitHub's (check run ids from the table's
// sequence, issue numbers counted per repository), and reads are answered
// from what was recorded, so reporting and incidents behave as with GitHub
// and the dashboard can show what would have been posted. Reads themselves
// are not recorded: they change nothing.
type Recorder struct {
	db  *store.DB
	now func() time.Time
}

// NewRecorder records into db.
func NewRecorder(db *store.DB) *Recorder {
	return &Recorder{db: db, now: func() time.Time { return time.Now().UTC().Truncate(time.Second) }}
}

var _ jobs.GitHub = (*Recorder)(nil)

func repoPath(repo jobs.GitHubRepo, rest string) string {
	return "/repos/" + repo.Owner + "/" + repo.Name + rest
}

// record stores one write; answer builds the made-up answer from the row id
// and the number of earlier calls to the same method and path.
func (r *Recorder) record(ctx context.Context, repo jobs.GitHubRepo, method, path string, body any, status int, answer func(id int64, seq int) any) (json.RawMessage, error) {
	req, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("record %s %s: %w", method, path, err)
	}
	call := store.OutboundCall{InstallationID: repo.InstallationID, Method: method, Path: path, Request: req, RunID: repo.RunID, IncidentID: repo.IncidentID, Recorded: true}
	saved, err := store.RecordOutboundCall(ctx, r.db, call, func(id int64, seq int) (int, json.RawMessage, error) {
		resp, err := json.Marshal(answer(id, seq))
		return status, resp, err
	})
	if err != nil {
		return nil, err
	}
	return saved.Response, nil
}

func notFound(op string) error {
	return &jobs.GitHubError{Op: op, StatusCode: http.StatusNotFound, Message: "Not Found (no such recorded object)"}
}

func (r *Recorder) CreateCheckRun(ctx context.Context, repo jobs.GitHubRepo, opts github.CreateCheckRunOptions) (*github.CheckRun, error) {
	resp, err := r.record(ctx, repo, http.MethodPost, repoPath(repo, "/check-runs"), opts, http.StatusCreated, func(id int64, _ int) any {
		cr := &github.CheckRun{
			ID: github.Int64(id), Name: github.String(opts.Name), HeadSHA: github.String(opts.HeadSHA),
			ExternalID: opts.ExternalID, DetailsURL: opts.DetailsURL, Status: github.String("queued"),
			Output: &github.CheckRunOutput{AnnotationsCount: github.Int(0)},
		}
		if opts.Status != nil {
			cr.Status = opts.Status
		}
		applyCheckRunChange(cr, opts.Conclusion, opts.CompletedAt, opts.Output, r.now())
		return cr
	})
	if err != nil {
		return nil, err
	}
	return decode[github.CheckRun](resp)
}

func (r *Recorder) UpdateCheckRun(ctx context.Context, repo jobs.GitHubRepo, id int64, opts github.UpdateCheckRunOptions) (*github.CheckRun, error) {
	if opts.Name == "" {
		return nil, fmt.Errorf("github: update check run %d: Name is required (go-github would send an empty name)", id)
	}
	cur, err := r.GetCheckRun(ctx, repo, id)
	if err != nil {
		return nil, err
	}
	resp, err := r.record(ctx, repo, http.MethodPatch, repoPath(repo, fmt.Sprintf("/check-runs/%d", id)), opts, http.StatusOK, func(int64, int) any {
		cur.Name = github.String(opts.Name)
		if opts.DetailsURL != nil {
			cur.DetailsURL = opts.DetailsURL
		}
		if opts.ExternalID != nil {
			cur.ExternalID = opts.ExternalID
		}
		if opts.Status != nil {
			cur.Status = opts.Status
		}
		applyCheckRunChange(cur, opts.Conclusion, opts.CompletedAt, opts.Output, r.now())
		return cur
	})
	if err != nil {
		return nil, err
	}
	return decode[github.CheckRun](resp)
}

// applyCheckRunChange does what GitHub does with a conclusion and an output:
// a conclusion completes the check run; annotations are appended (counted).
func applyCheckRunChange(cr *github.CheckRun, conclusion *string, completedAt *github.Timestamp, out *github.CheckRunOutput, now time.Time) {
	if conclusion != nil {
		cr.Conclusion = conclusion
		cr.Status = github.String("completed")
		cr.CompletedAt = completedAt
		if cr.CompletedAt == nil {
			cr.CompletedAt = &github.Timestamp{Time: now}
		}
	}
	if cr.Output == nil {
		cr.Output = &github.CheckRunOutput{AnnotationsCount: github.Int(0)}
	}
	if out != nil {
		count := cr.Output.GetAnnotationsCount() + len(out.Annotations)
		cr.Output = &github.CheckRunOutput{Title: out.Title, Summary: out.Summary, Text: out.Text, AnnotationsCount: github.Int(count)}
	}
}

// GetCheckRun answers with the state after the last recorded write. Both
// look-ups are index reads, whatever the repository's history.
func (r *Recorder) GetCheckRun(ctx context.Context, repo jobs.GitHubRepo, id int64) (*github.CheckRun, error) {
	last, err := store.LastOutboundCallAt(ctx, r.db, http.MethodPatch, repoPath(repo, fmt.Sprintf("/check-runs/%d", id)))
	if err == nil {
		return decode[github.CheckRun](last.Response)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	create, err := store.OutboundCallAtID(ctx, r.db, http.MethodPost, repoPath(repo, "/check-runs"), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(fmt.Sprintf("get check run %d on %s", id, repo))
	}
	if err != nil {
		return nil, err
	}
	return decode[github.CheckRun](create.Response)
}

func (r *Recorder) ListCheckRunsForRef(ctx context.Context, repo jobs.GitHubRepo, ref, checkName string) ([]*github.CheckRun, error) {
	creates, err := store.OutboundCheckRunsFor(ctx, r.db, repoPath(repo, "/check-runs"), ref)
	if err != nil {
		return nil, err
	}
	var out []*github.CheckRun
	for _, c := range creates {
		var req github.CreateCheckRunOptions
		if json.Unmarshal(c.Request, &req) != nil || req.HeadSHA != ref || (checkName != "" && req.Name != checkName) {
			continue
		}
		cr, err := r.GetCheckRun(ctx, repo, c.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, cr)
	}
	return out, nil
}

func decode[T any](raw json.RawMessage) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("recorded answer: %w", err)
	}
	return v, nil
}

func labelsOf(req github.IssueRequest) []*github.Label {
	if req.Labels == nil {
		return nil
	}
	var out []*github.Label
	for _, n := range *req.Labels {
		out = append(out, &github.Label{Name: github.String(n)})
	}
	return out
}

func hasLabel(is *github.Issue, name string) bool {
	for _, l := range is.Labels {
		if strings.EqualFold(l.GetName(), name) {
			return true
		}
	}
	return false
}
