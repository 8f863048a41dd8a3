package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
)

// CheckRun is the fake's state of one check run.
type CheckRun struct {
	ID          int64
	Repo        string // owner/name
	Name        string
	HeadSHA     string
	ExternalID  string
	DetailsURL  string
	Status      string
	Conclusion  string
	StartedAt   time.Time
	CompletedAt time.Time
	Title       string
	Summary     string
	Text        string
	Annotations []github.CheckRunAnnotation // appended by every request, as GitHub does
	Actions     []github.CheckRunAction
	History     []string // "queued", "in_progress", "completed:failure", one entry per change
	Requests    int      // create + update requests that reached it
}

// CheckRuns returns copies of every check run, by id.
func (s *Server) CheckRuns() []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]CheckRun, 0, len(s.checkRuns))
	for _, c := range s.checkRuns {
		cp := *c
		cp.Annotations = append([]github.CheckRunAnnotation(nil), c.Annotations...)
		cp.Actions = append([]github.CheckRunAction(nil), c.Actions...)
		cp.History = append([]string(nil), c.History...)
		out = append(out, cp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// checkRunBody is the union of create and update bodies; pointers tell
// "absent" from "empty".
type checkRunBody struct {
	Name        *string                  `json:"name"`
	HeadSHA     *string                  `json:"head_sha"`
	DetailsURL  *string                  `json:"details_url"`
	ExternalID  *string                  `json:"external_id"`
	Status      *string                  `json:"status"`
	Conclusion  *string                  `json:"conclusion"`
	StartedAt   *time.Time               `json:"started_at"`
	CompletedAt *time.Time               `json:"completed_at"`
	Output      *github.CheckRunOutput   `json:"output"`
	Actions     *[]github.CheckRunAction `json:"actions"`
}

func (s *Server) createCheckRun(w http.ResponseWriter, r *http.Request) {
	repo, ok := s.repoFor(w, r)
	if !ok {
		return
	}
	var b checkRunBody
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	if b.Name == nil || *b.Name == "" || b.HeadSHA == nil || *b.HeadSHA == "" {
		writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"name\" and \"head_sha\" are required.")
		return
	}
	if !isSHA(*b.HeadSHA) {
		writeError(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+*b.HeadSHA)
		return
	}
	s.mu.Lock()
	c := &CheckRun{ID: s.id(), Repo: repo, Status: "queued"}
	s.checkRuns[c.ID] = c
	s.applyCheckRun(c, b)
	resp := s.checkRunJSON(c)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, resp)
}

func (s *Server) updateCheckRun(w http.ResponseWriter, r *http.Request) {
	c, ok := s.checkRunFor(w, r)
	if !ok {
		return
	}
	var b checkRunBody
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	s.mu.Lock()
	s.applyCheckRun(c, b)
	resp := s.checkRunJSON(c)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) getCheckRun(w http.ResponseWriter, r *http.Request) {
	c, ok := s.checkRunFor(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	resp := s.checkRunJSON(c)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

// listCheckRunsForRef answers GET /repos/{owner}/{repo}/commits/{ref}/check-runs.
func (s *Server) listCheckRunsForRef(w http.ResponseWriter, r *http.Request) {
	repo, ok := s.repoFor(w, r)
	if !ok {
		return
	}
	ref := r.PathValue("ref")
	q := r.URL.Query()
	s.mu.Lock()
	var all []*github.CheckRun
	ids := make([]int64, 0, len(s.checkRuns))
	for id := range s.checkRuns {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] > ids[j] }) // newest first
	for _, id := range ids {
		c := s.checkRuns[id]
		if c.Repo != repo || c.HeadSHA != ref {
			continue
		}
		if name := q.Get("check_name"); name != "" && c.Name != name {
			continue
		}
		if st := q.Get("status"); st != "" && c.Status != st {
			continue
		}
		all = append(all, s.checkRunJSON(c))
	}
	s.mu.Unlock()
	page, ok := paginate(w, r, len(all))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(all), "check_runs": all[page.from:page.to]})
}

func (s *Server) checkRunFor(w http.ResponseWriter, r *http.Request) (*CheckRun, bool) {
	repo, ok := s.repoFor(w, r)
	if !ok {
		return nil, false
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	c := s.checkRuns[id]
	s.mu.Unlock()
	if err != nil || c == nil || c.Repo != repo {
		writeError(w, http.StatusNotFound, "Not Found")
		return nil, false
	}
	return c, true
}

// applyCheckRun changes c as GitHub does; the caller holds s.mu.
func (s *Server) applyCheckRun(c *CheckRun, b checkRunBody) {
	c.Requests++
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&c.Name, b.Name)
	set(&c.HeadSHA, b.HeadSHA)
	set(&c.ExternalID, b.ExternalID)
	set(&c.DetailsURL, b.DetailsURL)
	before := c.state()
	set(&c.Status, b.Status)
	if b.Conclusion != nil {
		c.Conclusion = *b.Conclusion
		c.Status = "completed" // GitHub: a conclusion completes the check run
	}
	if b.StartedAt != nil {
		c.StartedAt = *b.StartedAt
	}
	if b.CompletedAt != nil {
		c.CompletedAt = *b.CompletedAt
	}
	if c.Status == "completed" && c.CompletedAt.IsZero() {
		c.CompletedAt = s.now()
	}
	if b.Output != nil {
		c.Title = b.Output.GetTitle()
		c.Summary = b.Output.GetSummary()
		c.Text = b.Output.GetText()
		for _, a := range b.Output.Annotations {
			c.Annotations = append(c.Annotations, *a)
		}
	}
	if b.Actions != nil {
		c.Actions = append([]github.CheckRunAction(nil), (*b.Actions)...)
	}
	if after := c.state(); after != before || len(c.History) == 0 {
		c.History = append(c.History, after)
	}
}

func (c *CheckRun) state() string {
	if c.Status == "completed" {
		return "completed:" + c.Conclusion
	}
	return c.Status
}

// checkRunJSON is the API representation; the caller holds s.mu.
func (s *Server) checkRunJSON(c *CheckRun) *github.CheckRun {
	owner, _, _ := strings.Cut(c.Repo, "/")
	base := strings.TrimSuffix(s.URL, "/")
	out := &github.CheckRun{
		ID:         github.Int64(c.ID),
		NodeID:     github.String(fmt.Sprintf("CR_kwDO%d", c.ID)),
		HeadSHA:    github.String(c.HeadSHA),
		ExternalID: github.String(c.ExternalID),
		URL:        github.String(fmt.Sprintf("%s/repos/%s/check-runs/%d", base, c.Repo, c.ID)),
		HTMLURL:    github.String(fmt.Sprintf("https://github.com/%s/runs/%d", c.Repo, c.ID)),
		DetailsURL: github.String(c.DetailsURL),
		Status:     github.String(c.Status),
		Name:       github.String(c.Name),
		Output: &github.CheckRunOutput{
			Title:            github.String(c.Title),
			Summary:          github.String(c.Summary),
			Text:             github.String(c.Text),
			AnnotationsCount: github.Int(len(c.Annotations)),
			AnnotationsURL:   github.String(fmt.Sprintf("%s/repos/%s/check-runs/%d/annotations", base, c.Repo, c.ID)),
		},
		App: &github.App{ID: github.Int64(1), Slug: github.String("sentinel"), Owner: &github.User{Login: github.String(owner)}},
	}
	if c.Conclusion != "" {
		out.Conclusion = github.String(c.Conclusion)
	}
	if !c.StartedAt.IsZero() {
		out.StartedAt = &github.Timestamp{Time: c.StartedAt}
	}
	if !c.CompletedAt.IsZero() {
		out.CompletedAt = &github.Timestamp{Time: c.CompletedAt}
	}
	return out
}

// isSHA reports whether s is a full commit SHA; GitHub answers 422 for a
// check run on a commit it does not have.
func isSHA(s string) bool {
	if len(s) != 40 {
		return false
	}
	return strings.Trim(strings.ToLower(s), "0123456789abcdef") == ""
}
