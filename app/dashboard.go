package app

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sentinel-ci/sentinel/templates"
)

// page is what the layout needs; every page's view embeds it.
type page struct {
	Title     string
	Nav       string // which navigation entry is current
	CSRF      string
	Now       time.Time
	Flash     string
	NeedLogin bool // an admin token is set and this browser has not logged in
	LoggedIn  bool // logged in with the admin token
}

// pageTemplates returns one parsed template set per page, parsed on first
// use rather than in init: every sentinel process (help, version, a worker
// that serves no page) would pay 7 ms of CPU and 2 MB of allocations for
// them. A broken template fails every test that renders a page.
var pageTemplates = sync.OnceValue(mustParsePages)

func mustParsePages() map[string]*template.Template {
	names, err := fs.Glob(templates.Pages, "*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		if n == "layout.html" || n == "partials.html" {
			continue
		}
		t := template.Must(template.New(n).Funcs(templateFuncs).ParseFS(templates.Pages, "layout.html", "partials.html", n))
		out[strings.TrimSuffix(n, ".html")] = t
	}
	return out
}

// newPage fills the layout's part of a view for this request.
func (s *Server) newPage(w http.ResponseWriter, r *http.Request, title, nav string) page {
	p := page{Title: title, Nav: nav, CSRF: csrfToken(w, r), Now: time.Now(), Flash: r.URL.Query().Get("flash")}
	if s.Opts.AdminToken != "" {
		p.LoggedIn = s.hasAdminSession(r)
		p.NeedLogin = !p.LoggedIn
	}
	return p
}

// render executes a page into a buffer first, so that a template error
// becomes a clean 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, view any) {
	t, ok := pageTemplates()[name]
	if !ok {
		s.pageError(w, r, fmt.Errorf("no template %q", name))
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", view); err != nil {
		s.pageError(w, r, fmt.Errorf("render %s: %w", name, err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// staticFiles is templates.Static rooted at its folder.
var staticFiles = func() http.Handler {
	sub, err := fs.Sub(templates.Static, "static")
	if err != nil {
		panic(err)
	}
	return http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
}()

// serveStatic serves the embedded assets. The pages link them with their
// version (assetURL), and only a URL carrying the current version is cached
// for a long time: at another version or none, the content may differ from
// what that URL served before, so it is cached briefly and revalidated by
// its ETag.
func serveStatic(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	version, ok := assetVersions[name]
	if ok {
		w.Header().Set("ETag", `"`+version+`"`)
	}
	if ok && r.URL.Query().Get("v") == version {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=300")
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	staticFiles.ServeHTTP(w, r)
}

// redirectBack answers a successful form action with a redirect (303, so
// a reload does not post again) carrying a short message.
func redirectBack(w http.ResponseWriter, r *http.Request, to, flash string) {
	if u, err := url.Parse(to); err == nil && flash != "" {
		q := u.Query()
		q.Set("flash", flash)
		u.RawQuery = q.Encode()
		to = u.String()
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
