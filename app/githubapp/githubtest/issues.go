package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
)

// Issue is the fake's state of one issue.
type Issue struct {
	ID          int64
	Number      int
	Repo        string
	Title       string
	Body        string
	State       string // open, closed
	StateReason string
	Labels      []string
	Comments    []Comment
	History     []string // "open", "closed:completed", "open:reopened", one entry per state change
	CreatedAt   time.Time
	// PullRequest: the number is a pull request's (GitHub numbers pull
	// requests and issues in one sequence and answers both as issues).
	PullRequest bool
	Head, Base  string // branches of a pull request opened through the API
	Merged      bool
	Commits     []string // commits a merged pull request brought (MergedPull)
}

// Comment is one issue comment.
type Comment struct {
	ID    int64
	Body  string
	Edits int // times the body was replaced (PATCH)
}

type repoState struct {
	issues []*Issue // number = index + 1
	labels map[string]*github.Label
	git    *gitState // nil until a git call or SetFile
}

// AddPullRequest opens a pull request in the repository, as a person would,
// and returns its number: the next in the repository's issue sequence.
func (s *Server) AddPullRequest(fullName, title string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repo(fullName)
	is := &Issue{ID: s.id(), Number: len(rs.issues) + 1, Repo: fullName, Title: title, State: "open", CreatedAt: s.now(), History: []string{"open"}, PullRequest: true}
	rs.issues = append(rs.issues, is)
	return is.Number
}

// Issues returns copies of the repository's issues in number order.
func (s *Server) Issues(fullName string) []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repos[strings.ToLower(fullName)]
	if rs == nil {
		return nil
	}
	out := make([]Issue, 0, len(rs.issues))
	for _, is := range rs.issues {
		cp := *is
		cp.Labels = slices.Clone(is.Labels)
		cp.Comments = slices.Clone(is.Comments)
		cp.History = slices.Clone(is.History)
		out = append(out, cp)
	}
	return out
}

// Labels returns the names of the repository's labels.
func (s *Server) Labels(fullName string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repos[strings.ToLower(fullName)]
	if rs == nil {
		return nil
	}
	var out []string
	for _, l := range rs.labels {
		out = append(out, l.GetName())
	}
	slices.Sort(out)
	return out
}

// repo returns (creating) the state of a repository; the caller holds s.mu.
func (s *Server) repo(fullName string) *repoState {
	key := strings.ToLower(fullName)
	rs := s.repos[key]
	if rs == nil {
		rs = &repoState{labels: map[string]*github.Label{}}
		s.repos[key] = rs
	}
	return rs
}

type issueBody struct {
	Title       *string            `json:"title"`
	Body        *string            `json:"body"`
	State       *string            `json:"state"`
	StateReason *string            `json:"state_reason"`
	Labels      *[]json.RawMessage `json:"labels"`
}

func labelNames(raw []json.RawMessage) []string {
	var out []string
	for _, r := range raw {
		var name string
		if json.Unmarshal(r, &name) == nil {
			out = append(out, name)
			continue
		}
		var obj struct{ Name string }
		if json.Unmarshal(r, &obj) == nil && obj.Name != "" {
			out = append(out, obj.Name)
		}
	}
	return out
}

func (s *Server) createIssue(w http.ResponseWriter, r *http.Request) {
	repo, ok := s.repoFor(w, r)
	if !ok {
		return
	}
	var b issueBody
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	if b.Title == nil || *b.Title == "" {
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed", github.Error{Resource: "Issue", Field: "title", Code: "missing_field"})
		return
	}
	s.mu.Lock()
	rs := s.repo(repo)
	is := &Issue{ID: s.id(), Number: len(rs.issues) + 1, Repo: repo, Title: *b.Title, State: "open", CreatedAt: s.now(), History: []string{"open"}}
	if b.Body != nil {
		is.Body = *b.Body
	}
	if b.Labels != nil {
		is.Labels = s.useLabels(rs, labelNames(*b.Labels))
	}
	rs.issues = append(rs.issues, is)
	resp := s.issueJSON(is)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, resp)
}

// useLabels creates missing labels as GitHub does for issue requests; the caller holds s.mu.
func (s *Server) useLabels(rs *repoState, names []string) []string {
	for _, n := range names {
		if rs.labels[strings.ToLower(n)] == nil {
			rs.labels[strings.ToLower(n)] = &github.Label{ID: github.Int64(s.id()), Name: github.String(n), Color: github.String("ededed")}
		}
	}
	return names
}

func (s *Server) issueFor(w http.ResponseWriter, r *http.Request) (*Issue, bool) {
	repo, ok := s.repoFor(w, r)
	if !ok {
		return nil, false
	}
	n, err := strconv.Atoi(r.PathValue("number"))
	s.mu.Lock()
	rs := s.repo(repo)
	var is *Issue
	if err == nil && n >= 1 && n <= len(rs.issues) {
		is = rs.issues[n-1]
	}
	s.mu.Unlock()
	if is == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return nil, false
	}
	return is, true
}

func (s *Server) getIssue(w http.ResponseWriter, r *http.Request) {
	is, ok := s.issueFor(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	resp := s.issueJSON(is)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) updateIssue(w http.ResponseWriter, r *http.Request) {
	is, ok := s.issueFor(w, r)
	if !ok {
		return
	}
	var b issueBody
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	if b.State != nil && *b.State != "open" && *b.State != "closed" {
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed", github.Error{Resource: "Issue", Field: "state", Code: "invalid"})
		return
	}
	s.mu.Lock()
	if b.Title != nil {
		is.Title = *b.Title
	}
	if b.Body != nil {
		is.Body = *b.Body
	}
	if b.Labels != nil {
		is.Labels = s.useLabels(s.repo(is.Repo), labelNames(*b.Labels))
	}
	if b.State != nil && *b.State != is.State {
		is.State = *b.State
		is.StateReason = ""
		if b.StateReason != nil {
			is.StateReason = *b.StateReason
		} else if is.State == "closed" {
			is.StateReason = "completed"
		}
		entry := is.State
		if is.StateReason != "" {
			entry += ":" + is.StateReason
		}
		is.History = append(is.History, entry)
	}
	resp := s.issueJSON(is)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

// listIssues answers GET /repos/{owner}/{repo}/issues (state, labels, pagination; newest first).
func (s *Server) listIssues(w http.ResponseWriter, r *http.Request) {
	repo, ok := s.repoFor(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var want []string
	if l := q.Get("labels"); l != "" {
		want = strings.Split(l, ",")
	}
	s.mu.Lock()
	rs := s.repo(repo)
	var all []*github.Issue
	for i := len(rs.issues) - 1; i >= 0; i-- {
		is := rs.issues[i]
		if state != "all" && is.State != state {
			continue
		}
		if !hasAllLabels(is.Labels, want) {
			continue
		}
		all = append(all, s.issueJSON(is))
	}
	s.mu.Unlock()
	page, ok := paginate(w, r, len(all))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, all[page.from:page.to])
}

func hasAllLabels(have, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, strings.TrimSpace(w)) }) {
			return false
		}
	}
	return true
}

// issueJSON is the API representation; the caller holds s.mu.
func (s *Server) issueJSON(is *Issue) *github.Issue {
	base := strings.TrimSuffix(s.URL, "/")
	out := &github.Issue{
		ID:            github.Int64(is.ID),
		Number:        github.Int(is.Number),
		State:         github.String(is.State),
		Title:         github.String(is.Title),
		Body:          github.String(is.Body),
		Comments:      github.Int(len(is.Comments)),
		URL:           github.String(fmt.Sprintf("%s/repos/%s/issues/%d", base, is.Repo, is.Number)),
		HTMLURL:       github.String(fmt.Sprintf("https://github.com/%s/issues/%d", is.Repo, is.Number)),
		RepositoryURL: github.String(fmt.Sprintf("%s/repos/%s", base, is.Repo)),
		CreatedAt:     &github.Timestamp{Time: is.CreatedAt},
	}
	if is.StateReason != "" {
		out.StateReason = github.String(is.StateReason)
	}
	if is.PullRequest {
		out.PullRequestLinks = &github.PullRequestLinks{
			URL:     github.String(fmt.Sprintf("%s/repos/%s/pulls/%d", base, is.Repo, is.Number)),
			HTMLURL: github.String(fmt.Sprintf("https://github.com/%s/pull/%d", is.Repo, is.Number)),
		}
	}
	rs := s.repo(is.Repo)
	for _, n := range is.Labels {
		if l := rs.labels[strings.ToLower(n)]; l != nil {
			out.Labels = append(out.Labels, l)
		}
	}
	return out
}
