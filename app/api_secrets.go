package app

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
)

// Secrets are written only by an admin: unlike the other actions, which
// are open when no SENTINEL_ADMIN_TOKEN is set, setting or deleting a
// secret is refused unless a token is configured and this request carries
// it (or the admin session). No read returns a value: the list has names
// and dates.

type apiSecret struct {
	Name      string    `json:"name"`
	Scope     string    `json:"scope"`
	UpdatedAt time.Time `json:"updated_at"`
}

var errSecretsNeedToken = clientError(http.StatusForbidden,
	"secrets can be changed only when SENTINEL_ADMIN_TOKEN is set, with that token: send Authorization: Bearer $SENTINEL_ADMIN_TOKEN")

// requireSecretAdmin guards secret changes beyond requireAPIAction, which
// lets anyone act when no token is configured.
func (s *Server) requireSecretAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Opts.AdminToken == "" {
			s.writeError(w, r, errSecretsNeedToken)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// secretScope reads the scope from {owner}/{repo} or {id}.
func (s *Server) secretScope(r *http.Request) (store.SecretScope, error) {
	if id := chi.URLParam(r, "id"); id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n <= 0 {
			return store.SecretScope{}, clientError(http.StatusBadRequest, fmt.Sprintf("installation id %q is not a number", id))
		}
		ok, err := store.InstallationExists(r.Context(), s.DB, n)
		if err == nil && !ok {
			err = fmt.Errorf("installation %d: %w", n, store.ErrNotFound)
		}
		return store.SecretScope{InstallationID: n}, err
	}
	repo, err := store.RepositoryByName(r.Context(), s.DB, chi.URLParam(r, "owner")+"/"+chi.URLParam(r, "repo"))
	return store.SecretScope{RepositoryID: repo.ID}, err
}

func (s *Server) apiListSecrets(w http.ResponseWriter, r *http.Request) {
	scope, err := s.secretScope(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	names, err := store.ListSecretNames(r.Context(), s.DB, scope)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]apiSecret, 0, len(names))
	for _, n := range names {
		out = append(out, apiSecret{Name: n.Name, Scope: n.Scope, UpdatedAt: n.UpdatedAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"secrets": out})
}

// apiPutSecret sets a secret from {"value": "..."}; the answer has its name only.
func (s *Server) apiPutSecret(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Value *string `json:"value"`
	}
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	name := chi.URLParam(r, "secret")
	if req.Value == nil {
		s.writeError(w, r, clientError(http.StatusBadRequest, `send the value as {"value": "..."}`))
		return
	}
	if err := s.setSecret(r, name, []byte(*req.Value), s.apiActor(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": name})
}

func (s *Server) apiDeleteSecret(w http.ResponseWriter, r *http.Request) {
	scope, err := s.secretScope(r)
	if err == nil {
		err = s.Actions.DeleteSecret(r.Context(), scope, chi.URLParam(r, "secret"), s.apiActor(r))
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// setSecret is the API's and the dashboard's way to SetSecret: input
// errors are the client's (400), a missing key the server's (503).
func (s *Server) setSecret(r *http.Request, name string, value []byte, actor string) error {
	if err := jobs.CheckSecret(name, value); err != nil {
		return clientError(http.StatusBadRequest, err.Error())
	}
	if s.Actions.Secrets == nil {
		return clientError(http.StatusServiceUnavailable, "this Sentinel has no secret key (SENTINEL_SECRET_KEY)")
	}
	scope, err := s.secretScope(r)
	if err != nil {
		return err
	}
	return s.Actions.SetSecret(r.Context(), scope, name, value, actor)
}
