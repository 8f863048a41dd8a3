package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
)

// Actions need the admin token when SENTINEL_ADMIN_TOKEN is set: as a
// Bearer header (API clients) or as a session cookie obtained through the
// login form (browsers). The cookie holds an HMAC of the token, not the
// token itself, and changes when the token does.

const sessionCookie = "sentinel_session"

func (s *Server) sessionValue() string {
	m := hmac.New(sha256.New, []byte(s.Opts.AdminToken))
	m.Write([]byte("sentinel dashboard session v1"))
	return hex.EncodeToString(m.Sum(nil))
}

func (s *Server) hasAdminSession(r *http.Request) bool {
	if s.Opts.AdminToken == "" {
		return false
	}
	c, err := r.Cookie(sessionCookie)
	return err == nil && hmac.Equal([]byte(c.Value), []byte(s.sessionValue()))
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
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: s.sessionValue(), Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil, MaxAge: 30 * 24 * 3600})
	redirectBack(w, r, next, "Logged in.")
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if !checkCSRF(r) {
		s.pageError(w, r, errFormExpired)
		return
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
