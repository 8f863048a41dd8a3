package app

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/app/intake"
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
		req.CloneURL = "https://" + cmp.Or(s.Opts.GitHubHost, "github.com") + "/" + req.FullName + ".git"
	}
	cloneURL, err := checkCloneURL(req.CloneURL, s.Opts.cloneHosts())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req.CloneURL = cloneURL
	if req.DefaultBranch == "" {
		req.DefaultBranch = "main"
	}
	var id int64
	err = s.DB.InTx(r.Context(), func(tx pgx.Tx) error {
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

// checkCloneURL accepts what the runner's checkout can fetch: an http(s)
// URL without credentials on the GitHub host (or a loopback one, when
// local repositories are allowed) and, only when local repositories are allowed
// (SENTINEL_ALLOW_LOCAL_REPOS), a file:// URL or an absolute path, returned
// as a file:// URL. ssh:// and git:// are refused, since checkout cannot
// use them, and so is anything git could read as an option.
func checkCloneURL(raw string, hosts intake.CloneHosts) (string, error) {
	allowLocal := hosts.AllowLocal
	refuse := func(why string) (string, error) {
		return "", clientError(http.StatusBadRequest, fmt.Sprintf("clone_url %q: %s", raw, why))
	}
	if strings.HasPrefix(raw, "-") || strings.ContainsAny(raw, " \n\r\t\"\\") {
		return refuse("not a URL")
	}
	if strings.HasPrefix(raw, "/") {
		raw = (&url.URL{Scheme: "file", Path: filepath.Clean(raw)}).String()
	}
	u, err := url.Parse(raw)
	if err != nil {
		return refuse("not a URL")
	}
	switch {
	case (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil:
		if err := hosts.Check(raw); err != nil {
			return "", clientError(http.StatusBadRequest, err.Error())
		}
		return raw, nil
	case u.Scheme == "file" && u.Host == "" && path.IsAbs(u.Path):
		if !allowLocal {
			return refuse("local repositories are not allowed (set SENTINEL_ALLOW_LOCAL_REPOS=true)")
		}
		return raw, nil
	}
	return refuse("must be an http(s) URL without credentials (or a local path, when SENTINEL_ALLOW_LOCAL_REPOS=true)")
}
