package app

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// TestSecretsPage: the dashboard sets and deletes a repository secret with
// the CSRF token and the admin session; the page never shows a value; a
// form without the CSRF token, or on a Sentinel without an admin token, is
// refused.
func TestSecretsPage(t *testing.T) {
	t.Parallel()
	box, _ := jobs.NewSecretBox([]byte("0123456789abcdef0123456789abcdef"))
	db := storetest.NewDB(t)
	ctx := context.Background()
	if _, err := store.UpsertRepository(ctx, db, store.Repository{FullName: "octo/app"}); err != nil {
		t.Fatal(err)
	}
	ds := newDashServerOn(t, db, Options{Secrets: box, AdminToken: "adm1"})
	c := browserlessClient(t)
	csrf := csrfFrom(t, c, ds.url+"/login")
	if code, _, _ := postForm(t, c, ds.url+"/login", url.Values{"csrf": {csrf}, "token": {"adm1"}, "next": {"/"}}); code != 303 {
		t.Fatalf("login: %d", code)
	}
	page := ds.url + "/repos/octo/app/secrets"
	csrf = csrfFrom(t, c, page)
	const value = "dashboard-secret-value"
	if code, _, _ := postForm(t, c, page, url.Values{"name": {"NPM_TOKEN"}, "value": {value}}); code != 403 {
		t.Errorf("set without CSRF: %d", code)
	}
	code, loc, body := postForm(t, c, page, url.Values{"csrf": {csrf}, "name": {"NPM_TOKEN"}, "value": {value}})
	if code != 303 || !strings.HasPrefix(loc, "/repos/octo/app/secrets?flash=") {
		t.Fatalf("set: %d %s %s", code, loc, body)
	}
	_, html := get(t, c, page)
	if !strings.Contains(html, "<code>NPM_TOKEN</code>") || strings.Contains(html, value) {
		t.Errorf("page after set:\n%s", html)
	}
	if code, _, body := postForm(t, c, page, url.Values{"csrf": {csrf}, "name": {"bad-name"}, "value": {value}}); code != 400 || strings.Contains(body, value) {
		t.Errorf("bad name: %d", code)
	}
	if code, loc, _ := postForm(t, c, page+"/NPM_TOKEN/delete", url.Values{"csrf": {csrf}}); code != 303 || !strings.Contains(loc, "flash=") {
		t.Errorf("delete: %d %s", code, loc)
	}
	audit, _ := store.ListAudit(ctx, db, "repository", 0, 10)
	if len(audit) != 2 || audit[0].Action != "secret.delete" || audit[1].Actor != "dashboard:admin" {
		t.Errorf("audit %+v", audit)
	}

	open := newDashServerOn(t, db, Options{Secrets: box})
	oc := browserlessClient(t)
	ocsrf := csrfFrom(t, oc, open.url+"/login")
	if code, _, _ := postForm(t, oc, open.url+"/repos/octo/app/secrets", url.Values{"csrf": {ocsrf}, "name": {"K"}, "value": {value}}); code != 403 {
		t.Errorf("set without a configured admin token: %d", code)
	}
}

// TestCachesPage shows a repository's caches and clears them from the form.
func TestCachesPage(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := context.Background()
	repoID, err := store.UpsertRepository(ctx, db, store.Repository{FullName: "octo/app"})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.TouchCacheEntries(ctx, db, repoID, "r1", map[string]int64{"go-build": 3 << 20}); err != nil {
		t.Fatal(err)
	}
	ds := newDashServerOn(t, db, Options{CacheMax: 10 << 30})
	c := browserlessClient(t)
	page := ds.url + "/repos/octo/app/caches"
	_, html := get(t, c, page)
	if !strings.Contains(html, "<code>go-build</code>") || !strings.Contains(html, "3.0 MiB of 10240.0 MiB used") {
		t.Errorf("page:\n%s", html)
	}
	csrf := csrfFrom(t, c, page)
	if code, loc, _ := postForm(t, c, page+"/clear", url.Values{"csrf": {csrf}}); code != 303 || !strings.Contains(loc, "flash=") {
		t.Errorf("clear: %d %s", code, loc)
	}
	if _, html := get(t, c, page); !strings.Contains(html, "cleared, removed after the next run") {
		t.Errorf("page after clearing:\n%s", html)
	}
}
