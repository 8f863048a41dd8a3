package app

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/store"
)

type apiRepo struct {
	ID             int64     `json:"id"`
	FullName       string    `json:"full_name"`
	CloneURL       string    `json:"clone_url"`
	DefaultBranch  string    `json:"default_branch"`
	Private        bool      `json:"private"`
	Active         bool      `json:"active"`
	GitHubID       int64     `json:"github_id,omitempty"`
	InstallationID int64     `json:"installation_id,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
}

func toAPIRepo(r store.Repository) apiRepo {
	return apiRepo{ID: r.ID, FullName: r.FullName, CloneURL: r.CloneURL, DefaultBranch: r.DefaultBranch, Private: r.Private,
		Active: r.Active, GitHubID: r.GitHubID, InstallationID: r.InstallationID, CreatedAt: r.CreatedAt}
}

func (s *Server) apiListRepos(w http.ResponseWriter, r *http.Request) {
	repos, err := store.ListRepositories(r.Context(), s.DB)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]apiRepo, 0, len(repos))
	for _, repo := range repos {
		out = append(out, toAPIRepo(repo))
	}
	writeJSON(w, http.StatusOK, map[string]any{"repos": out})
}

var fullNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

// apiCreateRepo adds (or updates) a repository by hand, for runs started
// through the API or results sent by another CI system.
func (s *Server) apiCreateRepo(w http.ResponseWriter, r *http.Request) {
	var req struct {
		FullName      string `json:"full_name"`
		CloneURL      string `json:"clone_url"`
		DefaultBranch string `json:"default_branch"`
	}
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	req.FullName = strings.TrimSpace(req.FullName)
	if !fullNamePattern.MatchString(req.FullName) {
		s.writeError(w, r, clientError(http.StatusBadRequest, fmt.Sprintf("full_name must be owner/name, not %q", req.FullName)))
		return
	}
	if req.CloneURL == "" {
		req.CloneURL = "https://github.com/" + req.FullName + ".git"
	}
	if !validCloneURL(req.CloneURL) {
		s.writeError(w, r, clientError(http.StatusBadRequest, fmt.Sprintf("clone_url must be an https://, http://, ssh://, git:// or file:// URL or an absolute path, not %q", req.CloneURL)))
		return
	}
	if req.DefaultBranch == "" {
		req.DefaultBranch = "main"
	}
	var id int64
	err := s.DB.InTx(r.Context(), func(tx pgx.Tx) error {
		var err error
		id, err = store.UpsertRepository(r.Context(), tx, store.Repository{FullName: req.FullName, CloneURL: req.CloneURL, DefaultBranch: req.DefaultBranch})
		if err != nil {
			return err
		}
		return store.Audit(r.Context(), tx, s.apiActor(r), "repository.add", "repository", id, map[string]any{"full_name": req.FullName, "clone_url": req.CloneURL})
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	repo, err := store.GetRepository(r.Context(), s.DB, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"repo": toAPIRepo(repo)})
}

// validCloneURL accepts what git can clone and nothing that git could
// mistake for an option.
func validCloneURL(u string) bool {
	if u == "" || strings.HasPrefix(u, "-") || strings.ContainsAny(u, " \n\r\t") {
		return false
	}
	for _, p := range []string{"https://", "http://", "ssh://", "git://", "file://", "/"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}
