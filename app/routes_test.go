package app

import (
	"log/slog"
	"net/http"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/google/go-cmp/cmp"
)

// routeTable is Sentinel's URL space: method, pattern, handler and the
// middleware in front of it after the global RequestID, recoverPanics and
// logRequests. ANY is a route registered for every method (r.Handle).
const routeTable = `
GET  /                                 handleOverview
GET  /api/audit                        apiListAudit
GET  /api/openapi.json                 apiOpenAPI
GET  /audit                            handleAudit
GET  /tests/{id}                       handleTestPage
GET  /api/clusters                     apiListClusters
POST /api/clusters/{id}/{action}       apiClusterAction     requireAPIAction
GET  /api/flaky                        apiListFlaky
GET  /api/flaky/{id}                   apiGetFlaky
POST /api/flaky/{id}/quarantine        apiQuarantineTest    requireAPIAction
POST /api/flaky/{id}/release           apiReleaseTest       requireAPIAction
GET  /api/incidents                    apiListIncidents
GET  /api/incidents/{id}               apiGetIncident
POST /api/incidents/{id}/{action}      apiIncidentAction    requireAPIAction
GET  /api/installations/{id}/secrets  apiListSecrets
DELETE /api/installations/{id}/secrets/{secret} apiDeleteSecret requireAPIAction requireSecretAdmin
PUT  /api/installations/{id}/secrets/{secret} apiPutSecret requireAPIAction requireSecretAdmin
GET  /api/repos                        apiListRepos
POST /api/repos                        apiCreateRepo        requireAPIAction
GET  /api/repos/{owner}/{repo}/caches  apiListCaches
DELETE /api/repos/{owner}/{repo}/caches apiClearCaches requireAPIAction
GET  /api/repos/{owner}/{repo}/secrets apiListSecrets
DELETE /api/repos/{owner}/{repo}/secrets/{secret} apiDeleteSecret requireAPIAction requireSecretAdmin
PUT  /api/repos/{owner}/{repo}/secrets/{secret} apiPutSecret requireAPIAction requireSecretAdmin
POST /api/results                      apiPostResults
GET  /api/runs                         apiListRuns
POST /api/runs                         apiCreateRun         requireAPIAction
GET  /api/runs/{id}                    apiGetRun
POST /api/runs/{id}/approve            apiApproveRun        requireAPIAction
POST /api/runs/{id}/cancel             apiCancelRun         requireAPIAction
POST /api/runs/{id}/rerun              apiRerunRun          requireAPIAction
GET  /clusters                         handleClusters
GET  /clusters/{id}                    handleCluster
POST /clusters/{id}/{action}           handleClusterForm    requireFormAction
GET  /dead                             handleDeadLetters
POST /dead/{id}/retry                  handleRetryJobForm   requireFormAction
GET  /flaky                            handleFlaky
POST /flaky/{id}/quarantine            handleQuarantineForm requireFormAction
POST /flaky/{id}/unquarantine          handleUnquarantineForm requireFormAction
GET  /healthz                          handleHealthz
GET  /incidents                        handleIncidents
GET  /incidents/{id}                   handleIncident
POST /incidents/{id}/{action}          handleIncidentForm   requireFormAction
GET  /login                            handleLoginForm
POST /login                            handleLogin
POST /logout                           handleLogout
ANY  /metrics                          promhttp
GET  /readyz                           handleReadyz
GET  /repos/{owner}/{repo}/caches      handleCaches
POST /repos/{owner}/{repo}/caches/clear handleClearCachesForm requireFormAction
GET  /repos/{owner}/{repo}/secrets     handleSecrets
POST /repos/{owner}/{repo}/secrets     handleSetSecretForm  requireFormAction
POST /repos/{owner}/{repo}/secrets/{secret}/delete handleDeleteSecretForm requireFormAction
GET  /runs                             handleRuns
GET  /runs/{id}                        handleRun
POST /runs/{id}/approve                handleApproveForm    requireFormAction
POST /runs/{id}/cancel                 handleCancelForm     requireFormAction
POST /runs/{id}/rerun                  handleRerunForm      requireFormAction
GET  /runs/{id}/steps/{step}/live      handleLiveTail
GET  /runs/{id}/steps/{step}/log       handleStepLog
GET  /static/*                         serveStatic
POST /webhooks/github                  handleWebhook
`

// TestRouteTable walks Handler's routes and compares them with routeTable,
// so a route that moves, disappears or loses its guard shows up as a diff.
func TestRouteTable(t *testing.T) {
	s := NewServer(nil, nil, slog.New(slog.DiscardHandler), Options{})
	methods := map[string][]string{} // "pattern handler [middleware]" → methods
	err := chi.Walk(s.Handler().(chi.Routes), func(method, route string, h http.Handler, mws ...func(http.Handler) http.Handler) error {
		var names []string
		for _, mw := range mws {
			names = append(names, funcName(mw))
		}
		k := route + " " + handlerName(h) + " [" + strings.Join(names, " ") + "]"
		methods[k] = append(methods[k], method)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for k, ms := range methods {
		if len(ms) > 5 { // chi lists a route registered with Handle once per method
			ms = []string{"ANY"}
		}
		for _, m := range ms {
			got = append(got, m+" "+k)
		}
	}
	var want []string
	for _, line := range strings.Split(strings.TrimSpace(routeTable), "\n") {
		f := strings.Fields(line)
		mws := append([]string{"middleware.RequestID", "recoverPanics", "logRequests"}, f[3:]...)
		want = append(want, f[0]+" "+f[1]+" "+f[2]+" ["+strings.Join(mws, " ")+"]")
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
}

// funcName names a function as the table does: a method of *Server by its
// name, a closure of another package by that package, anything else by
// package and name.
func funcName(f any) string {
	n := runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
	n = strings.TrimSuffix(n, "-fm")
	n = n[strings.LastIndex(n, "/")+1:]
	if pkg, _, _ := strings.Cut(n, "."); pkg != "app" && strings.Contains(n, ".func") {
		return pkg
	}
	n = strings.TrimPrefix(n, "app.(*Server).")
	return strings.TrimPrefix(n, "app.")
}

func handlerName(h http.Handler) string {
	if f, ok := h.(http.HandlerFunc); ok {
		return funcName(f)
	}
	return reflect.TypeOf(h).String()
}
