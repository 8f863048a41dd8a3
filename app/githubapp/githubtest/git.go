package githubtest

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-github/v62/github"
)

// The repository contents the fake keeps: branches pointing at commits, each
// commit a full snapshot of its files. Enough for the git refs, contents
// and pull request calls Sentinel makes; no history walks, no merges but
// MergePullRequest.

type gitState struct {
	defaultBranch string
	branches      map[string]string            // name → commit sha
	commits       map[string]map[string]string // commit sha → path → content
}

func (s *Server) git(fullName string) *gitState {
	rs := s.repo(fullName)
	if rs.git == nil {
		rs.git = &gitState{defaultBranch: "main", branches: map[string]string{}, commits: map[string]map[string]string{}}
	}
	return rs.git
}

// commit records files as a new commit and returns its sha.
func (g *gitState) commit(files map[string]string, message string) string {
	h := sha1.New()
	fmt.Fprintf(h, "%s\x00%d\x00", message, len(g.commits))
	for _, p := range slices.Sorted(maps.Keys(files)) {
		fmt.Fprintf(h, "%s\x00%s\x00", p, files[p])
	}
	sha := hex.EncodeToString(h.Sum(nil))
	g.commits[sha] = files
	return sha
}

// blobSHA is git's object id of a file's content, as GitHub reports it.
func blobSHA(content string) string {
	sum := sha1.Sum([]byte(fmt.Sprintf("blob %d\x00%s", len(content), content)))
	return hex.EncodeToString(sum[:])
}

// SetFile commits content at path on branch (created from the default
// branch, or empty, when missing), as a person pushing would.
func (s *Server) SetFile(fullName, branch, path, content string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.git(fullName)
	files := maps.Clone(g.commits[g.branches[branch]])
	if files == nil {
		files = maps.Clone(g.commits[g.branches[g.defaultBranch]])
	}
	if files == nil {
		files = map[string]string{}
	}
	files[path] = content
	g.branches[branch] = g.commit(files, "set "+path)
}

// File returns the content of path on branch.
func (s *Server) File(fullName, branch, path string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.git(fullName)
	c, ok := g.commits[g.branches[branch]][path]
	return c, ok
}

// Branches returns the repository's branch names, sorted.
func (s *Server) Branches(fullName string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.git(fullName).branches))
}

// PullRequest is a pull request as the fake keeps it.
type PullRequest struct {
	Number     int
	Title      string
	Body       string
	Head, Base string
	State      string // open, closed
	Merged     bool
}

// PullRequests returns the repository's pull requests opened through the
// API, in number order.
func (s *Server) PullRequests(fullName string) []PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PullRequest
	for _, is := range s.repo(fullName).issues {
		if is.PullRequest && is.Head != "" {
			out = append(out, PullRequest{Number: is.Number, Title: is.Title, Body: is.Body, Head: is.Head, Base: is.Base, State: is.State, Merged: is.Merged})
		}
	}
	return out
}

// MergePullRequest merges an open pull request as a person would: the base
// branch takes the head branch's files and the pull request closes, merged.
func (s *Server) MergePullRequest(fullName string, number int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repo(fullName)
	if number < 1 || number > len(rs.issues) || !rs.issues[number-1].PullRequest || rs.issues[number-1].State != "open" {
		return fmt.Errorf("githubtest: #%d of %s is not an open pull request", number, fullName)
	}
	is := rs.issues[number-1]
	g := s.git(fullName)
	g.branches[is.Base] = g.commit(maps.Clone(g.commits[g.branches[is.Head]]), "merge #"+fmt.Sprint(number))
	is.State, is.Merged = "closed", true
	is.History = append(is.History, "closed:merged")
	return nil
}

func (s *Server) refJSON(repo, ref, sha string) map[string]any {
	base := strings.TrimSuffix(s.URL, "/")
	return map[string]any{"ref": "refs/" + ref, "node_id": "REF_" + sha[:8], "url": fmt.Sprintf("%s/repos/%s/git/refs/%s", base, repo, ref),
		"object": map[string]any{"type": "commit", "sha": sha, "url": fmt.Sprintf("%s/repos/%s/git/commits/%s", base, repo, sha)}}
}

func (s *Server) getRef(w http.ResponseWriter, r *http.Request) {
	repo, ok := s.repoFor(w, r)
	if !ok {
		return
	}
	ref := r.PathValue("ref")
	s.mu.Lock()
	defer s.mu.Unlock()
	branch, isHead := strings.CutPrefix(ref, "heads/")
	sha := s.git(repo).branches[branch]
	if !isHead || sha == "" {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, s.refJSON(repo, ref, sha))
}

func (s *Server) createRef(w http.ResponseWriter, r *http.Request) {
	repo, ok := s.repoFor(w, r)
	if !ok {
		return
	}
	var b struct{ Ref, SHA string }
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	branch, ok := strings.CutPrefix(b.Ref, "refs/heads/")
	if !ok || branch == "" {
		writeError(w, http.StatusUnprocessableEntity, "Reference name must start with 'refs/' and have at least two slashes.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.git(repo)
	switch {
	case g.branches[branch] != "":
		writeError(w, http.StatusUnprocessableEntity, "Reference already exists")
	case g.commits[b.SHA] == nil:
		writeError(w, http.StatusUnprocessableEntity, "Object does not exist")
	default:
		g.branches[branch] = b.SHA
		writeJSON(w, http.StatusCreated, s.refJSON(repo, "heads/"+branch, b.SHA))
	}
}

func (s *Server) deleteRef(w http.ResponseWriter, r *http.Request) {
	repo, ok := s.repoFor(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.git(repo)
	branch, isHead := strings.CutPrefix(r.PathValue("ref"), "heads/")
	switch {
	case !isHead || g.branches[branch] == "":
		writeError(w, http.StatusUnprocessableEntity, "Reference does not exist")
	case branch == g.defaultBranch:
		writeError(w, http.StatusUnprocessableEntity, "Cannot delete the default branch")
	default:
		delete(g.branches, branch)
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) contentJSON(repo, path, content string) map[string]any {
	base := strings.TrimSuffix(s.URL, "/")
	name := path[strings.LastIndex(path, "/")+1:]
	return map[string]any{"type": "file", "encoding": "base64", "size": len(content), "name": name, "path": path,
		"content": base64.StdEncoding.EncodeToString([]byte(content)), "sha": blobSHA(content),
		"url": fmt.Sprintf("%s/repos/%s/contents/%s", base, repo, path)}
}

func (s *Server) getContent(w http.ResponseWriter, r *http.Request) {
	repo, ok := s.repoFor(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.git(repo)
	ref := r.URL.Query().Get("ref")
	if ref == "" {
		ref = g.defaultBranch
	}
	sha := g.branches[strings.TrimPrefix(ref, "heads/")]
	if g.commits[ref] != nil {
		sha = ref
	}
	content, found := g.commits[sha][r.PathValue("path")]
	if !found {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, s.contentJSON(repo, r.PathValue("path"), content))
}

func (s *Server) putContent(w http.ResponseWriter, r *http.Request) {
	repo, ok := s.repoFor(w, r)
	if !ok {
		return
	}
	var b struct{ Message, Content, SHA, Branch string }
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	data, err := base64.StdEncoding.DecodeString(b.Content)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "content is not valid Base64")
		return
	}
	path := r.PathValue("path")
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.git(repo)
	if b.Branch == "" {
		b.Branch = g.defaultBranch
	}
	head := g.branches[b.Branch]
	if head == "" {
		writeError(w, http.StatusNotFound, "Branch "+b.Branch+" not found")
		return
	}
	old, exists := g.commits[head][path]
	switch {
	case exists && b.SHA == "":
		writeError(w, http.StatusUnprocessableEntity, `Invalid request.

"sha" wasn't supplied.`)
		return
	case exists && b.SHA != blobSHA(old), !exists && b.SHA != "":
		writeError(w, http.StatusConflict, path+" does not match "+b.SHA)
		return
	}
	files := maps.Clone(g.commits[head])
	files[path] = string(data)
	sha := g.commit(files, b.Message)
	g.branches[b.Branch] = sha
	status := http.StatusOK
	if !exists {
		status = http.StatusCreated
	}
	writeJSON(w, status, map[string]any{"content": s.contentJSON(repo, path, string(data)),
		"commit": map[string]any{"sha": sha, "message": b.Message}})
}

func (s *Server) pullJSON(is *Issue) *github.PullRequest {
	base := strings.TrimSuffix(s.URL, "/")
	g := s.git(is.Repo)
	return &github.PullRequest{
		Number: github.Int(is.Number), State: github.String(is.State), Title: github.String(is.Title), Body: github.String(is.Body),
		Merged:  github.Bool(is.Merged),
		Head:    &github.PullRequestBranch{Ref: github.String(is.Head), SHA: github.String(g.branches[is.Head])},
		Base:    &github.PullRequestBranch{Ref: github.String(is.Base), SHA: github.String(g.branches[is.Base])},
		URL:     github.String(fmt.Sprintf("%s/repos/%s/pulls/%d", base, is.Repo, is.Number)),
		HTMLURL: github.String(fmt.Sprintf("https://github.com/%s/pull/%d", is.Repo, is.Number)),
	}
}

func (s *Server) createPull(w http.ResponseWriter, r *http.Request) {
	repo, ok := s.repoFor(w, r)
	if !ok {
		return
	}
	var b struct{ Title, Head, Base, Body string }
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, g := s.repo(repo), s.git(repo)
	head := b.Head[strings.Index(b.Head, ":")+1:]
	switch {
	case g.branches[head] == "":
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed", github.Error{Resource: "PullRequest", Field: "head", Code: "invalid"})
		return
	case g.branches[b.Base] == "":
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed", github.Error{Resource: "PullRequest", Field: "base", Code: "invalid"})
		return
	case maps.Equal(g.commits[g.branches[head]], g.commits[g.branches[b.Base]]):
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed", github.Error{Resource: "PullRequest", Code: "custom", Message: "No commits between " + b.Base + " and " + head})
		return
	}
	for _, is := range rs.issues {
		if is.PullRequest && is.State == "open" && is.Head == head && is.Base == b.Base {
			writeError(w, http.StatusUnprocessableEntity, "Validation Failed", github.Error{Resource: "PullRequest", Code: "custom", Message: "A pull request already exists for " + b.Head + "."})
			return
		}
	}
	is := &Issue{ID: s.id(), Number: len(rs.issues) + 1, Repo: repo, Title: b.Title, Body: b.Body, State: "open", CreatedAt: s.now(),
		History: []string{"open"}, PullRequest: true, Head: head, Base: b.Base}
	rs.issues = append(rs.issues, is)
	writeJSON(w, http.StatusCreated, s.pullJSON(is))
}

func (s *Server) listPulls(w http.ResponseWriter, r *http.Request) {
	repo, ok := s.repoFor(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	head := q.Get("head")
	s.mu.Lock()
	var all []*github.PullRequest
	for _, is := range s.repo(repo).issues {
		if !is.PullRequest || is.Head == "" || (state != "all" && is.State != state) {
			continue
		}
		if head != "" && head[strings.Index(head, ":")+1:] != is.Head {
			continue
		}
		all = append(all, s.pullJSON(is))
	}
	s.mu.Unlock()
	slices.Reverse(all) // newest first, GitHub's default order
	page, ok := paginate(w, r, len(all))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, all[page.from:page.to])
}

func (s *Server) updatePull(w http.ResponseWriter, r *http.Request) {
	repo, ok := s.repoFor(w, r)
	if !ok {
		return
	}
	var b struct{ Title, Body, State *string }
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repo(repo)
	var n int
	_, _ = fmt.Sscan(r.PathValue("number"), &n)
	if n < 1 || n > len(rs.issues) || !rs.issues[n-1].PullRequest {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	is := rs.issues[n-1]
	if b.Title != nil {
		is.Title = *b.Title
	}
	if b.Body != nil {
		is.Body = *b.Body
	}
	if b.State != nil && *b.State != is.State && !is.Merged {
		is.State = *b.State
		is.History = append(is.History, *b.State)
	}
	writeJSON(w, http.StatusOK, s.pullJSON(is))
}

// MergedPull records a pull request from head, merged, that brought the
// given commits to the repository: what "List pull requests associated
// with a commit" answers for them. It returns the pull request's number.
func (s *Server) MergedPull(repo, head, title string, commits ...string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repo(repo)
	is := &Issue{ID: s.id(), Number: len(rs.issues) + 1, Repo: repo, Title: title, State: "closed", CreatedAt: s.now(),
		History: []string{"open", "closed:completed"}, PullRequest: true, Head: head, Base: s.git(repo).defaultBranch,
		Merged: true, Commits: commits}
	rs.issues = append(rs.issues, is)
	return is.Number
}

// listCommitPulls answers the pull requests that brought a commit, newest first.
func (s *Server) listCommitPulls(w http.ResponseWriter, r *http.Request) {
	repo, ok := s.repoFor(w, r)
	if !ok {
		return
	}
	sha := r.PathValue("sha")
	s.mu.Lock()
	var all []*github.PullRequest
	for _, is := range s.repo(repo).issues {
		if is.PullRequest && slices.Contains(is.Commits, sha) {
			all = append(all, s.pullJSON(is))
		}
	}
	s.mu.Unlock()
	slices.Reverse(all)
	page, ok := paginate(w, r, len(all))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, all[page.from:page.to])
}
