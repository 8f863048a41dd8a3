package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
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
