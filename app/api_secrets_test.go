package app

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/store/storetest"
)

// TestAPISecrets: secret changes need a configured admin token, sent; the
// value never comes back; each change is audited by name.
func TestAPISecrets(t *testing.T) {
	t.Parallel()
	box, err := jobs.NewSecretBox([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	db := storetest.NewDB(t)
	ctx := context.Background()
	_, err = store.UpsertRepository(ctx, db, store.Repository{FullName: "octo/app"})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.UpsertInstallation(ctx, db, store.Installation{ID: 77, AccountLogin: "octo"}); err != nil {
		t.Fatal(err)
	}
	open := newDashServerOn(t, db, Options{Secrets: box})                        // no admin token
	guarded := newDashServerOn(t, db, Options{Secrets: box, AdminToken: "adm1"}) // token configured
	const value = "hunter2-the-value"
	do := func(base, method, path, token, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	put := `{"value": "` + value + `"}`
	steps := []struct {
		name, base, method, path, token, body string
		want                                  int
	}{
		{"refused without a configured token", open.url, "PUT", "/api/repos/octo/app/secrets/NPM_TOKEN", "", put, 403},
		{"refused without the token", guarded.url, "PUT", "/api/repos/octo/app/secrets/NPM_TOKEN", "", put, 401},
		{"refused with a wrong token", guarded.url, "PUT", "/api/repos/octo/app/secrets/NPM_TOKEN", "nope", put, 401},
		{"set", guarded.url, "PUT", "/api/repos/octo/app/secrets/NPM_TOKEN", "adm1", put, 200},
		{"replace", guarded.url, "PUT", "/api/repos/octo/app/secrets/NPM_TOKEN", "adm1", put, 200},
		{"bad name", guarded.url, "PUT", "/api/repos/octo/app/secrets/NPM-TOKEN", "adm1", put, 400},
		{"no value", guarded.url, "PUT", "/api/repos/octo/app/secrets/X", "adm1", `{}`, 400},
		{"unknown repository", guarded.url, "PUT", "/api/repos/octo/none/secrets/X", "adm1", put, 404},
		{"installation", guarded.url, "PUT", "/api/installations/77/secrets/ORG_TOKEN", "adm1", put, 200},
		{"unknown installation", guarded.url, "PUT", "/api/installations/78/secrets/ORG_TOKEN", "adm1", put, 404},
		{"delete refused without the token", guarded.url, "DELETE", "/api/installations/77/secrets/ORG_TOKEN", "", "", 401},
		{"delete", guarded.url, "DELETE", "/api/installations/77/secrets/ORG_TOKEN", "adm1", "", 204},
		{"delete again", guarded.url, "DELETE", "/api/installations/77/secrets/ORG_TOKEN", "adm1", "", 404},
	}
	for _, st := range steps {
		code, body := do(st.base, st.method, st.path, st.token, st.body)
		if code != st.want {
			t.Errorf("%s: %d %s, want %d", st.name, code, body, st.want)
		}
		if strings.Contains(body, value) {
			t.Errorf("%s: the answer carries the value: %s", st.name, body)
		}
	}
	code, body := do(open.url, "GET", "/api/repos/octo/app/secrets", "", "")
	if code != 200 || !strings.Contains(body, `"name": "NPM_TOKEN"`) || strings.Contains(body, value) {
		t.Errorf("list: %d %s", code, body)
	}
	audit, err := store.ListAudit(ctx, db, "", 0, 20)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range audit {
		got = append(got, a.Actor+" "+a.Action+" "+a.SubjectType+" "+a.Details["name"].(string))
	}
	want := "api:token secret.delete installation ORG_TOKEN|api:token secret.set installation ORG_TOKEN|" +
		"api:token secret.set repository NPM_TOKEN|api:token secret.set repository NPM_TOKEN"
	if strings.Join(got, "|") != want {
		t.Errorf("audit:\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
}

// TestAPICaches lists a repository's caches and clears them (audited).
func TestAPICaches(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := context.Background()
	repoID, err := store.UpsertRepository(ctx, db, store.Repository{FullName: "octo/app"})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.TouchCacheEntries(ctx, db, repoID, "r1", map[string]int64{"go-build": 2048, "go-mod": 1024}); err != nil {
		t.Fatal(err)
	}
	ds := newDashServerOn(t, db, Options{AdminToken: "adm1"})
	do := func(method, path, token string) (int, string) {
		req, _ := http.NewRequest(method, ds.url+path, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := do("GET", "/api/repos/octo/app/caches", ""); code != 200 || !strings.Contains(body, `"total_bytes": 3072`) || !strings.Contains(body, `"key": "go-build"`) {
		t.Errorf("list: %d %s", code, body)
	}
	if code, _ := do("DELETE", "/api/repos/octo/app/caches", ""); code != 401 {
		t.Errorf("clear without the token: %d", code)
	}
	if code, body := do("DELETE", "/api/repos/octo/app/caches", "adm1"); code != 204 {
		t.Errorf("clear: %d %s", code, body)
	}
	if code, body := do("GET", "/api/repos/octo/app/caches", ""); code != 200 || !strings.Contains(body, `"total_bytes": 0`) || !strings.Contains(body, `"cleared": true`) {
		t.Errorf("list after clear: %d %s", code, body)
	}
	scope, err := store.CacheScope(ctx, db, repoID)
	if err != nil || scope != "r"+strconv.FormatInt(repoID, 10)+"g1" {
		t.Errorf("scope after clear %q %v", scope, err)
	}
	audit, _ := store.ListAudit(ctx, db, "repository", repoID, 5)
	if len(audit) != 1 || audit[0].Action != "caches.clear" || audit[0].Actor != "api:token" {
		t.Errorf("audit %+v", audit)
	}
}
