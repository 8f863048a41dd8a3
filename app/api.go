package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strings"

	"github.com/sentinel-ci/sentinel/store"
)

// requireAPIAction guards API writes. A Bearer header must carry the admin
// token. Without one, the request needs the login cookie when a token is
// set, and must be JSON or carry the CSRF token: a form on another site can
// send neither.
func (s *Server) requireAPIAction(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.actor(r, "api"); !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sentinel"`)
			s.writeError(w, r, errNeedToken)
			return
		}
		if _, hasBearer := bearer(r); !hasBearer && !isJSON(r) && !checkCSRF(r) {
			s.writeError(w, r, clientError(http.StatusForbidden, "send the request body as JSON (Content-Type: application/json) or with a CSRF token"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// errNeedToken refuses an API write without the admin token (with the
// WWW-Authenticate header set by the caller).
var errNeedToken = clientError(http.StatusUnauthorized, "this action needs the admin token: send Authorization: Bearer $SENTINEL_ADMIN_TOKEN")

func isJSON(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

// apiActor is who acts through the API, for the audit log.
func (s *Server) apiActor(r *http.Request) string {
	a, _ := s.actor(r, "api")
	return a
}

// decodeJSON reads a small JSON body into v, refusing unknown fields so a
// typo is an error rather than silently ignored.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return clientError(http.StatusBadRequest, "the request body is empty; send a JSON object")
		}
		return clientError(http.StatusBadRequest, "invalid JSON body: "+err.Error())
	}
	return nil
}

// nextCursor is the cursor of the following page, or nil on the last page.
func nextCursor(n, limit int, last string) *string {
	if n < limit || n == 0 {
		return nil
	}
	return &last
}

func queryLimit(r *http.Request, def, maxN int) (int, error) {
	v := strings.TrimSpace(r.URL.Query().Get("limit"))
	if v == "" {
		return def, nil
	}
	var n int
	if _, err := fmt.Sscan(v, &n); err != nil || n < 1 || n > maxN {
		return 0, clientError(http.StatusBadRequest, fmt.Sprintf("limit must be a number from 1 to %d", maxN))
	}
	return n, nil
}

// jsonRaw embeds a stored JSON document as is; an empty one is null.
type jsonRaw []byte

func (j jsonRaw) MarshalJSON() ([]byte, error) {
	if len(j) == 0 || !json.Valid(j) {
		return []byte("null"), nil
	}
	return j, nil
}

// isAPI reports whether a request is for the JSON API, whose errors are
// JSON even for a path or method that matches no route.
func isAPI(r *http.Request) bool {
	return r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/")
}

// handleNotFound answers a path no route serves.
func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	err := clientError(http.StatusNotFound, fmt.Sprintf("no such path %s (GET /api/openapi.json lists the API)", r.URL.Path))
	if isAPI(r) {
		s.writeError(w, r, err)
		return
	}
	s.pageError(w, r, clientError(http.StatusNotFound, "page not found"))
}

// handleMethodNotAllowed answers a known path asked with another method.
func (s *Server) handleMethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	err := clientError(http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path))
	if isAPI(r) {
		s.writeError(w, r, err)
		return
	}
	s.pageError(w, r, err)
}

// repoByName finds a repository named in a query parameter: 404 naming it
// when there is none, so that a typo is not answered with an empty list.
func (s *Server) repoByName(r *http.Request, name string) (store.Repository, error) {
	repo, err := store.RepositoryByName(r.Context(), s.DB, name)
	if errors.Is(err, store.ErrNotFound) {
		return repo, clientError(http.StatusNotFound, fmt.Sprintf("no repository %q", name))
	}
	return repo, err
}

// round2 keeps two decimals: a confidence stored as a 32-bit float reads
// back as 0.8999999761581421 and means 0.9.
func round2(f float64) float64 { return math.Round(f*100) / 100 }
