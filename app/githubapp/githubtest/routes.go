package githubtest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("POST /app/installations/{id}/access_tokens", s.createToken)
	m.HandleFunc("POST /repos/{owner}/{repo}/check-runs", s.authed(s.createCheckRun))
	m.HandleFunc("GET /repos/{owner}/{repo}/check-runs/{id}", s.authed(s.getCheckRun))
	m.HandleFunc("PATCH /repos/{owner}/{repo}/check-runs/{id}", s.authed(s.updateCheckRun))
	m.HandleFunc("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", s.authed(s.listCheckRunsForRef))
	m.HandleFunc("POST /repos/{owner}/{repo}/issues", s.authed(s.createIssue))
	m.HandleFunc("GET /repos/{owner}/{repo}/issues", s.authed(s.listIssues))
	m.HandleFunc("GET /repos/{owner}/{repo}/issues/{number}", s.authed(s.getIssue))
	m.HandleFunc("PATCH /repos/{owner}/{repo}/issues/{number}", s.authed(s.updateIssue))
	m.HandleFunc("POST /repos/{owner}/{repo}/issues/{number}/comments", s.authed(s.createComment))
	m.HandleFunc("GET /repos/{owner}/{repo}/issues/{number}/comments", s.authed(s.listComments))
	m.HandleFunc("PATCH /repos/{owner}/{repo}/issues/comments/{id}", s.authed(s.updateComment))
	m.HandleFunc("GET /repos/{owner}/{repo}/labels/{name}", s.authed(s.getLabel))
	m.HandleFunc("POST /repos/{owner}/{repo}/labels", s.authed(s.createLabel))
	m.HandleFunc("GET /search/issues", s.authed(s.searchIssues))
	m.HandleFunc("GET /repos/{owner}/{repo}/git/ref/{ref...}", s.authed(s.getRef))
	m.HandleFunc("POST /repos/{owner}/{repo}/git/refs", s.authed(s.createRef))
	m.HandleFunc("DELETE /repos/{owner}/{repo}/git/refs/{ref...}", s.authed(s.deleteRef))
	m.HandleFunc("GET /repos/{owner}/{repo}/contents/{path...}", s.authed(s.getContent))
	m.HandleFunc("PUT /repos/{owner}/{repo}/contents/{path...}", s.authed(s.putContent))
	m.HandleFunc("GET /repos/{owner}/{repo}/pulls", s.authed(s.listPulls))
	m.HandleFunc("POST /repos/{owner}/{repo}/pulls", s.authed(s.createPull))
	m.HandleFunc("PATCH /repos/{owner}/{repo}/pulls/{number}", s.authed(s.updatePull))
	m.HandleFunc("GET /repos/{owner}/{repo}/commits/{sha}/pulls", s.authed(s.listCommitPulls))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "Not Found (githubtest does not implement "+r.Method+" "+r.URL.Path+")")
	})
}

// createToken answers the App's installation token request. It needs an App
// JWT (Bearer, three dot-separated parts) and an installation still present.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	jwt, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || strings.Count(jwt, ".") != 2 {
		writeError(w, http.StatusUnauthorized, "A JSON web token could not be decoded")
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	gone := s.uninstalled[id]
	s.mu.Unlock()
	if err != nil || gone {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	var b [20]byte
	_, _ = rand.Read(b[:])
	tok := "ghs_" + hex.EncodeToString(b[:])
	s.mu.Lock()
	s.tokens[tok] = id
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{
		"token":                tok,
		"expires_at":           time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		"permissions":          map[string]string{"checks": "write", "issues": "write", "contents": "write", "pull_requests": "write", "metadata": "read"},
		"repository_selection": "all",
	})
}

// authed requires an installation token the fake issued.
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(auth, "token ")
		if !ok {
			tok, _ = strings.CutPrefix(auth, "Bearer ")
		}
		s.mu.Lock()
		_, known := s.tokens[tok]
		s.mu.Unlock()
		if !known {
			writeError(w, http.StatusUnauthorized, "Bad credentials")
			return
		}
		h(w, r)
	}
}

// repoFor returns owner/name from the path, answering 404 for a deleted repository.
func (s *Server) repoFor(w http.ResponseWriter, r *http.Request) (string, bool) {
	full := r.PathValue("owner") + "/" + r.PathValue("repo")
	s.mu.Lock()
	gone := s.goneRepos[strings.ToLower(full)]
	s.mu.Unlock()
	if gone {
		writeError(w, http.StatusNotFound, "Not Found")
		return "", false
	}
	return full, true
}

type pageRange struct{ from, to int }

// paginate reads per_page (default 30, at most 100) and page, and sets the
// Link header GitHub sends (next, last, first, prev).
func paginate(w http.ResponseWriter, r *http.Request, total int) (pageRange, bool) {
	q := r.URL.Query()
	perPage, page := 30, 1
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusUnprocessableEntity, "Validation Failed: per_page")
			return pageRange{}, false
		}
		perPage = min(n, 100)
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusUnprocessableEntity, "Validation Failed: page")
			return pageRange{}, false
		}
		page = n
	}
	last := max(1, (total+perPage-1)/perPage)
	link := func(p int, rel string) string {
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
		qq := r.URL.Query()
		qq.Set("per_page", strconv.Itoa(perPage))
		qq.Set("page", strconv.Itoa(p))
		u.RawQuery = qq.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	from := min(total, (page-1)*perPage)
	return pageRange{from: from, to: min(total, from+perPage)}, true
}
