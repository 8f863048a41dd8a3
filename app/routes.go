package app

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/sentinel-ci/sentinel/app/githubapp"
)

// Handler returns Sentinel's HTTP surface: the routes below behind request
// ids, panic recovery and the request log.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID)
	r.Use(s.recoverPanics)
	r.Use(s.logRequests)
	s.routes(r)
	return r
}

// routes registers every route of the server, in one place. Reads are open;
// writes are guarded: API writes by requireAPIAction (admin token, and JSON
// or a CSRF token so another site cannot forge them), dashboard forms by
// requireFormAction (CSRF token, and the admin session when a token is set).
// The webhook checks GitHub's signature itself, and POST /api/results the
// admin token, since it takes raw files that are neither JSON nor forms.
func (s *Server) routes(r chi.Router) {
	// Unknown paths and methods: JSON under /api/, the error page elsewhere.
	r.NotFound(s.handleNotFound)
	r.MethodNotAllowed(s.handleMethodNotAllowed)

	// Operations.
	r.Get("/healthz", s.handleHealthz)
	r.Get("/readyz", s.handleReadyz)
	r.Handle("/metrics", s.Metrics.Handler())

	// GitHub's deliveries (webhook.go).
	r.Post("/webhooks/github", s.handleWebhook)

	// The JSON API (templates/API.md). Full paths rather than
	// r.Route("/api") so that each line reads as the URL it serves.
	r.Get("/api/runs", s.apiListRuns)
	r.Get("/api/runs/{id}", s.apiGetRun)
	r.Get("/api/clusters", s.apiListClusters)
	r.Get("/api/incidents", s.apiListIncidents)
	r.Get("/api/incidents/{id}", s.apiGetIncident)
	r.Get("/api/repos", s.apiListRepos)
	r.Get("/api/flaky", s.apiListFlaky)
	r.Get("/api/flaky/{id}", s.apiGetFlaky)
	r.Get("/api/repos/{owner}/{repo}/secrets", s.apiListSecrets) // names and dates, never values
	r.Get("/api/installations/{id}/secrets", s.apiListSecrets)
	r.Get("/api/repos/{owner}/{repo}/caches", s.apiListCaches)
	r.Post("/api/results", s.apiPostResults) // JUnit XML or go test -json from another CI system
	r.Group(func(r chi.Router) {
		r.Use(s.requireAPIAction)
		r.Post("/api/runs", s.apiCreateRun)
		r.Post("/api/runs/{id}/approve", s.apiApproveRun)
		r.Post("/api/runs/{id}/cancel", s.apiCancelRun)
		r.Post("/api/runs/{id}/rerun", s.apiRerunRun)
		r.Post("/api/incidents/{id}/{action}", s.apiIncidentAction)
		r.Post("/api/clusters/{id}/{action}", s.apiClusterAction) // merge, split, rename, mute, unmute
		r.Post("/api/repos", s.apiCreateRepo)
		r.Delete("/api/repos/{owner}/{repo}/caches", s.apiClearCaches)
		r.Post("/api/flaky/{id}/quarantine", s.apiQuarantineTest) // {"owner", "until" | "for", "reason"}
		r.Post("/api/flaky/{id}/release", s.apiReleaseTest)
		r.Group(func(r chi.Router) {
			r.Use(s.requireSecretAdmin)                                         // secrets need a configured admin token, always
			r.Put("/api/repos/{owner}/{repo}/secrets/{secret}", s.apiPutSecret) // {"value": "..."}
			r.Delete("/api/repos/{owner}/{repo}/secrets/{secret}", s.apiDeleteSecret)
			r.Put("/api/installations/{id}/secrets/{secret}", s.apiPutSecret)
			r.Delete("/api/installations/{id}/secrets/{secret}", s.apiDeleteSecret)
		})
	})

	// The audit trail, the page of one test and the API's description
	// (api_audit.go, dashboard_test_page.go, api_openapi.go).
	r.Get("/api/openapi.json", s.apiOpenAPI)
	r.Get("/api/audit", s.apiListAudit)
	r.Get("/audit", s.handleAudit)
	r.Get("/tests/{id}", s.handleTestPage)

	// The dashboard's pages, the live log tail and the static assets.
	r.Get("/static/*", serveStatic)
	r.Get("/", s.handleOverview)
	r.Get("/runs", s.handleRuns)
	r.Get("/runs/{id}", s.handleRun)
	r.Get("/runs/{id}/steps/{step}/log", s.handleStepLog)
	r.Get("/runs/{id}/steps/{step}/live", s.handleLiveTail)
	r.Get("/clusters", s.handleClusters)
	r.Get("/clusters/{id}", s.handleCluster)
	r.Get("/flaky", s.handleFlaky)
	r.Get("/incidents", s.handleIncidents)
	r.Get("/incidents/{id}", s.handleIncident)
	r.Get("/dead", s.handleDeadLetters)
	r.Get("/repos/{owner}/{repo}/secrets", s.handleSecrets)
	r.Get("/repos/{owner}/{repo}/caches", s.handleCaches)
	r.Get("/login", s.handleLoginForm)
	r.Post("/login", s.handleLogin)   // checks the CSRF token itself
	r.Post("/logout", s.handleLogout) // checks the CSRF token itself
	r.Group(func(r chi.Router) {
		r.Use(s.requireFormAction)
		r.Post("/runs/{id}/rerun", s.handleRerunForm)
		r.Post("/runs/{id}/cancel", s.handleCancelForm)
		r.Post("/runs/{id}/approve", s.handleApproveForm)
		r.Post("/flaky/{id}/quarantine", s.handleQuarantineForm)
		r.Post("/flaky/{id}/unquarantine", s.handleUnquarantineForm)
		r.Post("/incidents/{id}/{action}", s.handleIncidentForm)
		r.Post("/clusters/{id}/{action}", s.handleClusterForm)
		r.Post("/dead/{id}/retry", s.handleRetryJobForm)
		r.Post("/repos/{owner}/{repo}/secrets", s.handleSetSecretForm) // refused without a configured admin token
		r.Post("/repos/{owner}/{repo}/secrets/{secret}/delete", s.handleDeleteSecretForm)
		r.Post("/repos/{owner}/{repo}/caches/clear", s.handleClearCachesForm)
	})
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
