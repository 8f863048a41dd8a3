package app

import (
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/sentinel-ci/sentinel/store"
)

type secretsView struct {
	page
	Repository string
	Enabled    bool // an admin token is configured: secrets can be changed
	Secrets    []store.SecretName
}

// handleSecrets lists a repository's secrets (its own and its
// installation's) by name, with the forms to set and delete them.
func (s *Server) handleSecrets(w http.ResponseWriter, r *http.Request) {
	repo, err := store.RepositoryByName(r.Context(), s.DB, chi.URLParam(r, "owner")+"/"+chi.URLParam(r, "repo"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := secretsView{page: s.newPage(w, r, "Secrets of "+repo.FullName, ""), Repository: repo.FullName, Enabled: s.Opts.AdminToken != ""}
	if v.Secrets, err = store.ListSecretNames(r.Context(), s.DB, store.SecretScope{RepositoryID: repo.ID}); err != nil {
		s.pageError(w, r, err)
		return
	}
	if repo.InstallationID != 0 {
		inst, err := store.ListSecretNames(r.Context(), s.DB, store.SecretScope{InstallationID: repo.InstallationID})
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		v.Secrets = append(v.Secrets, inst...)
	}
	s.render(w, r, http.StatusOK, "secrets", v)
}

// handleSetSecretForm sets a repository secret from the page's form.
func (s *Server) handleSetSecretForm(w http.ResponseWriter, r *http.Request) {
	if s.Opts.AdminToken == "" {
		s.pageError(w, r, errSecretsNeedToken)
		return
	}
	actor, _ := s.actor(r, "dashboard")
	name := r.PostFormValue("name")
	if err := s.setSecret(r, name, []byte(r.PostFormValue("value")), actor); err != nil {
		s.pageError(w, r, err)
		return
	}
	redirectBack(w, r, secretsPath(r), fmt.Sprintf("Secret %s set.", name))
}

func (s *Server) handleDeleteSecretForm(w http.ResponseWriter, r *http.Request) {
	if s.Opts.AdminToken == "" {
		s.pageError(w, r, errSecretsNeedToken)
		return
	}
	actor, _ := s.actor(r, "dashboard")
	scope, err := s.secretScope(r)
	if err == nil {
		err = s.Actions.DeleteSecret(r.Context(), scope, chi.URLParam(r, "secret"), actor)
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	redirectBack(w, r, secretsPath(r), fmt.Sprintf("Secret %s deleted.", chi.URLParam(r, "secret")))
}

func secretsPath(r *http.Request) string {
	return "/repos/" + chi.URLParam(r, "owner") + "/" + chi.URLParam(r, "repo") + "/secrets"
}
