package app

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

var shaPattern = regexp.MustCompile(`^[0-9a-f]{40}$`)

// createRunRequest is the body of POST /api/runs.
type createRunRequest struct {
	Repo string `json:"repo"` // owner/name of a known repository
	Ref  string `json:"ref"`  // branch, tag, refs/... or a full SHA; default: the default branch
	SHA  string `json:"sha"`  // optional: run this commit (ref then only names the branch)
}

// resolvedRef is what a ref points at.
type resolvedRef struct {
	SHA    string
	Ref    string // full ref name, "" for a bare SHA
	Branch string
}

// lsRemote resolves ref against the repository at cloneURL with
// `git ls-remote`, trying it as a branch, then as a tag, then as given.
func lsRemote(ctx context.Context, cloneURL, ref string) (resolvedRef, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "ls-remote", "--", cloneURL)
	// Never wait for a password on a terminal nobody watches.
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=true", "SSH_ASKPASS=true")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return resolvedRef{}, clientError(http.StatusBadRequest, fmt.Sprintf("cannot list the refs of %s: %s", cloneURL, triage.FirstLine(msg)))
	}
	refs := map[string]string{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		sha, name, ok := strings.Cut(strings.TrimSpace(line), "\t")
		if ok {
			refs[name] = sha
		}
	}
	candidates := []string{"refs/heads/" + ref, "refs/tags/" + ref + "^{}", "refs/tags/" + ref, ref}
	for _, c := range candidates {
		if sha, ok := refs[c]; ok {
			out := resolvedRef{SHA: sha, Ref: strings.TrimSuffix(c, "^{}")}
			if b, ok := strings.CutPrefix(c, "refs/heads/"); ok {
				out.Branch = b
			}
			return out, nil
		}
	}
	return resolvedRef{}, clientError(http.StatusNotFound, fmt.Sprintf("%s has no branch or tag %q", cloneURL, ref))
}

// apiCreateRun runs a repository at a ref: a run with trigger api, a new
// attempt when that commit ran through the API before.
func (s *Server) apiCreateRun(w http.ResponseWriter, r *http.Request) {
	var req createRunRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	if req.Repo == "" {
		s.writeError(w, r, clientError(http.StatusBadRequest, `"repo" is required (owner/name of a repository; add one with POST /api/repos)`))
		return
	}
	repo, err := store.RepositoryByName(ctx, s.DB, req.Repo)
	if err != nil {
		s.writeError(w, r, clientError(http.StatusNotFound, fmt.Sprintf("no repository %q; add it with POST /api/repos", req.Repo)))
		return
	}
	if !repo.Active {
		s.writeError(w, r, clientError(http.StatusConflict, fmt.Sprintf("repository %s is no longer installed", repo.FullName)))
		return
	}
	if req.Ref == "" {
		req.Ref = repo.DefaultBranch
	}
	req.SHA = strings.ToLower(strings.TrimSpace(req.SHA))
	var res resolvedRef
	switch {
	case req.SHA != "":
		if !shaPattern.MatchString(req.SHA) {
			s.writeError(w, r, clientError(http.StatusBadRequest, `"sha" must be a full 40-character commit SHA`))
			return
		}
		res = resolvedRef{SHA: req.SHA, Ref: "refs/heads/" + strings.TrimPrefix(req.Ref, "refs/heads/"), Branch: strings.TrimPrefix(req.Ref, "refs/heads/")}
	case shaPattern.MatchString(strings.ToLower(req.Ref)):
		res = resolvedRef{SHA: strings.ToLower(req.Ref)}
	default:
		if repo.CloneURL == "" {
			s.writeError(w, r, clientError(http.StatusBadRequest, fmt.Sprintf("repository %s has no clone URL to resolve %q; send \"sha\"", repo.FullName, req.Ref)))
			return
		}
		if res, err = lsRemote(ctx, repo.CloneURL, strings.TrimPrefix(req.Ref, "refs/heads/")); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	actor := s.apiActor(r)
	var id int64
	err = s.DB.InTx(ctx, func(tx pgx.Tx) error {
		attempt, err := store.NextAttempt(ctx, tx, repo.ID, res.SHA, store.TriggerAPI, 0)
		if err != nil {
			return err
		}
		var created bool
		id, created, err = store.InsertRun(ctx, tx, store.NewRun{RepositoryID: repo.ID, SHA: res.SHA, Ref: res.Ref, Branch: res.Branch,
			CloneURL: repo.CloneURL, Trigger: store.TriggerAPI, Attempt: attempt})
		if err != nil {
			return err
		}
		if !created {
			return clientError(http.StatusConflict, fmt.Sprintf("run %d was created for this commit at the same moment; retry", id))
		}
		if err := store.Audit(ctx, tx, actor, "run.created", "run", id, map[string]any{"sha": res.SHA, "ref": res.Ref, "trigger": store.TriggerAPI}); err != nil {
			return err
		}
		return jobs.EnqueueRun(ctx, s.River, tx, id, true)
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	run, err := store.GetRun(ctx, s.DB, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/runs/"+fmt.Sprint(id))
	writeJSON(w, http.StatusCreated, map[string]any{"run": s.toAPIRun(run, time.Now())})
}
