package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/google/go-github/v62/github"
)

func (s *Server) createComment(w http.ResponseWriter, r *http.Request) {
	is, ok := s.issueFor(w, r)
	if !ok {
		return
	}
	var b struct {
		Body *string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil || b.Body == nil {
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed", github.Error{Resource: "IssueComment", Field: "body", Code: "missing_field"})
		return
	}
	s.mu.Lock()
	c := Comment{ID: s.id(), Body: *b.Body}
	is.Comments = append(is.Comments, c)
	resp := s.commentJSON(is, c)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, resp)
}

// updateComment answers PATCH /repos/{owner}/{repo}/issues/comments/{id}:
// the comment's body is replaced; a comment id of another repository, or one
// that does not exist, is 404 as on GitHub.
func (s *Server) updateComment(w http.ResponseWriter, r *http.Request) {
	repo, ok := s.repoFor(w, r)
	if !ok {
		return
	}
	var b struct {
		Body *string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil || b.Body == nil {
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed", github.Error{Resource: "IssueComment", Field: "body", Code: "missing_field"})
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, is := range s.repo(repo).issues {
		for i := range is.Comments {
			if err == nil && is.Comments[i].ID == id {
				is.Comments[i].Body = *b.Body
				is.Comments[i].Edits++
				writeJSON(w, http.StatusOK, s.commentJSON(is, is.Comments[i]))
				return
			}
		}
	}
	writeError(w, http.StatusNotFound, "Not Found")
}

// DeleteComment removes a comment, as a person can on GitHub.
func (s *Server) DeleteComment(fullName string, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, is := range s.repo(fullName).issues {
		is.Comments = slices.DeleteFunc(is.Comments, func(c Comment) bool { return c.ID == id })
	}
}

// listComments answers GET /repos/{owner}/{repo}/issues/{number}/comments, oldest first.
func (s *Server) listComments(w http.ResponseWriter, r *http.Request) {
	is, ok := s.issueFor(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	all := make([]*github.IssueComment, 0, len(is.Comments))
	for _, c := range is.Comments {
		all = append(all, s.commentJSON(is, c))
	}
	s.mu.Unlock()
	page, ok := paginate(w, r, len(all))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, all[page.from:page.to])
}

func (s *Server) getLabel(w http.ResponseWriter, r *http.Request) {
	repo, ok := s.repoFor(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	l := s.repo(repo).labels[strings.ToLower(r.PathValue("name"))]
	s.mu.Unlock()
	if l == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, l)
}

func (s *Server) createLabel(w http.ResponseWriter, r *http.Request) {
	repo, ok := s.repoFor(w, r)
	if !ok {
		return
	}
	// The OpenAPI subset does not describe labels: their rules (a name, a
	// six-digit hex colour without '#') are checked here and recorded as
	// violations like the described bodies.
	bad := func(field, code string) {
		s.addViolation(Violation{Method: r.Method, Path: r.URL.Path, Operation: "issues/create-label", Problem: fmt.Sprintf("%s: %s", field, code)})
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed", github.Error{Resource: "Label", Field: field, Code: code})
	}
	var b github.Label
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil || b.GetName() == "" {
		bad("name", "missing_field")
		return
	}
	if c := b.GetColor(); c != "" && (len(c) != 6 || strings.Trim(strings.ToLower(c), "0123456789abcdef") != "") {
		bad("color", "invalid")
		return
	}
	s.mu.Lock()
	rs := s.repo(repo)
	if rs.labels[strings.ToLower(b.GetName())] != nil {
		s.mu.Unlock()
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed", github.Error{Resource: "Label", Field: "name", Code: "already_exists"})
		return
	}
	b.ID = github.Int64(s.id())
	if b.Color == nil {
		b.Color = github.String("ededed")
	}
	rs.labels[strings.ToLower(b.GetName())] = &b
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, &b)
}

func (s *Server) commentJSON(is *Issue, c Comment) *github.IssueComment {
	base := strings.TrimSuffix(s.URL, "/")
	return &github.IssueComment{
		ID:       github.Int64(c.ID),
		Body:     github.String(c.Body),
		URL:      github.String(fmt.Sprintf("%s/repos/%s/issues/comments/%d", base, is.Repo, c.ID)),
		HTMLURL:  github.String(fmt.Sprintf("https://github.com/%s/issues/%d#issuecomment-%d", is.Repo, is.Number, c.ID)),
		IssueURL: github.String(fmt.Sprintf("%s/repos/%s/issues/%d", base, is.Repo, is.Number)),
	}
}
