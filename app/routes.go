package app

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/sentinel-ci/sentinel/app/githubapp"
)

// Handler returns every route of Sentinel, in one place.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID)
	r.Use(s.recoverPanics)
	r.Use(s.logRequests)

	r.Get("/healthz", s.handleHealthz)
	r.Get("/readyz", s.handleReadyz)
	r.Handle("/metrics", s.Metrics.Handler())

	s.routeWebhooks(r)
	s.routeAPI(r)
	s.routeFlaky(r)
	s.routeDashboard(r)
	return r
}

// SetupHandler returns the routes of the page `sentinel setup` serves on loopback while it
// registers the GitHub App: githubapp.Setup's start page and GitHub's redirect back. Any other
// path or method is 404.
func SetupHandler(s *githubapp.Setup) http.Handler {
	r := chi.NewRouter()
	r.NotFound(http.NotFound)
	r.MethodNotAllowed(http.NotFound)
	r.Get("/", s.Start)
	r.Head("/", s.Start)
	r.Get("/callback", s.Callback)
	return r
}
