package app

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Actions need the admin token when SENTINEL_ADMIN_TOKEN is set: as a
// Bearer header (API clients) or as a session cookie obtained through the
// login form (browsers). The cookie holds a random session id that this
// process knows until it expires or is logged out, so logging out revokes
// it; a restart logs everyone out.

const (
	sessionCookie   = "sentinel_session"
	sessionLifetime = 30 * 24 * time.Hour
)

// sessions are the admin sessions this process issued, by id.
type sessions struct {
	mu  sync.Mutex
	ids map[string]time.Time // expiry
}

func (ss *sessions) create() string {
	b := make([]byte, 32)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never fails
	id := hex.EncodeToString(b)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.ids == nil {
		ss.ids = map[string]time.Time{}
	}
	now := time.Now()
	for old, exp := range ss.ids {
		if now.After(exp) {
			delete(ss.ids, old)
		}
	}
	ss.ids[id] = now.Add(sessionLifetime)
	return id
}

func (ss *sessions) valid(id string) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	exp, ok := ss.ids[id]
	return ok && time.Now().Before(exp)
}

func (ss *sessions) revoke(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.ids, id)
}

func (s *Server) hasAdminSession(r *http.Request) bool {
	if s.Opts.AdminToken == "" {
		return false
	}
	c, err := r.Cookie(sessionCookie)
	return err == nil && s.sessions.valid(c.Value)
}

// bearer returns the token of an Authorization: Bearer header, if any.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:]), true
	}
	return "", false
}

func (s *Server) validToken(tok string) bool {
	return s.Opts.AdminToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.Opts.AdminToken)) == 1
}

// actor names who acts, for the audit log, or reports that the request is
// not allowed to act: a wrong Bearer token is refused even when no token is
// configured, so a misconfigured client notices.
func (s *Server) actor(r *http.Request, via string) (string, bool) {
	if tok, ok := bearer(r); ok {
		return via + ":token", s.validToken(tok)
	}
	if s.Opts.AdminToken == "" {
		return via + ":anonymous", true
	}
	if s.hasAdminSession(r) {
		return via + ":admin", true
	}
	return "", false
}

type loginView struct {
	page
	Next  string
	Error string
}

func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	v := loginView{page: s.newPage(w, r, "Log in", ""), Next: safeNext(r.URL.Query().Get("next"))}
	s.render(w, r, http.StatusOK, "login", v)
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.PostFormValue("next"))
	if !checkCSRF(r) {
		s.pageError(w, r, errFormExpired)
		return
	}
	if s.Opts.AdminToken == "" {
		redirectBack(w, r, next, "No admin token is configured: actions are open to anyone who can reach this page.")
		return
	}
	if !s.validToken(r.PostFormValue("token")) {
		v := loginView{page: s.newPage(w, r, "Log in", ""), Next: next, Error: "That is not the admin token."}
		s.render(w, r, http.StatusUnauthorized, "login", v)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: s.sessions.create(), Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil, MaxAge: int(sessionLifetime.Seconds())})
	redirectBack(w, r, next, "Logged in.")
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if !checkCSRF(r) {
		s.pageError(w, r, errFormExpired)
		return
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.revoke(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1})
	redirectBack(w, r, "/", "Logged out.")
}

// safeNext keeps redirects after login on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

// errFormExpired refuses a form without its CSRF token: the browser lost
// the cookie since the page was shown, or the form comes from another site.
var errFormExpired = clientError(http.StatusForbidden, "The form expired (missing or wrong CSRF token). Reload the page and try again.")

// requireFormAction guards the dashboard's POST forms: a valid CSRF token
// always, and the admin session or token when one is configured.
func (s *Server) requireFormAction(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := bearer(r); !ok && !checkCSRF(r) {
			s.pageError(w, r, errFormExpired)
			return
		}
		if _, ok := s.actor(r, "dashboard"); !ok {
			back := r.Referer()
			if back == "" {
				back = "/"
			}
			http.Redirect(w, r, "/login?next="+urlQueryEscape(pathOf(back)), http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// pathOf keeps the path and query of a URL (a Referer), for safeNext.
func pathOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "/"
	}
	if u.RawQuery != "" {
		return u.Path + "?" + u.RawQuery
	}
	return u.Path
}
