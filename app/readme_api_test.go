package app

import (
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

// publicPrefixes are the parts of the URL space that are public API, each
// documented in the README's tables as `METHOD /path`; the dashboard's
// pages are described in prose.
var publicPrefixes = []string{"/api/", "/webhooks/", "/healthz", "/readyz", "/metrics"}

// TestREADMEDocumentsEveryAPIRoute: every public route has an entry in the
// README, and every entry the README gives is a route that exists.
func TestREADMEDocumentsEveryAPIRoute(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented [][2]string // method, path
	for _, m := range regexp.MustCompile("`(GET|POST|PUT|PATCH|DELETE) (/[^`\\s?]*)").FindAllStringSubmatch(string(readme), -1) {
		documented = append(documented, [2]string{m[1], m[2]})
	}
	methods := map[string][]string{} // public pattern → its methods
	s := NewServer(nil, nil, slog.New(slog.DiscardHandler), Options{})
	err = chi.Walk(s.Handler().(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		for _, p := range publicPrefixes {
			if strings.HasPrefix(route, p) {
				methods[route] = append(methods[route], method)
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var routes [][2]string
	for route, ms := range methods {
		if len(ms) > 3 {
			ms = []string{http.MethodGet} // r.Handle: every method; documented as the GET it is used with
		}
		for _, m := range ms {
			routes = append(routes, [2]string{m, route})
		}
	}
	for _, r := range routes {
		found := false
		for _, d := range documented {
			found = found || d[0] == r[0] && routeMatches(r[1], d[1])
		}
		if !found {
			t.Errorf("%s %s is not in the README's API reference", r[0], r[1])
		}
	}
	for _, d := range documented {
		public := false
		for _, p := range publicPrefixes {
			public = public || strings.HasPrefix(d[1], p)
		}
		found := false
		for _, r := range routes {
			found = found || d[0] == r[0] && routeMatches(r[1], d[1])
		}
		if public && !found {
			t.Errorf("the README documents %s %s, which no route serves", d[0], d[1])
		}
	}
}

// routeMatches reports whether a documented path fits a chi pattern: the
// same segments, a {param} of the pattern standing for any one segment.
func routeMatches(pattern, path string) bool {
	ps, ds := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(ds) {
		return false
	}
	for i := range ps {
		if ps[i] != ds[i] && !strings.HasPrefix(ps[i], "{") {
			return false
		}
	}
	return true
}
