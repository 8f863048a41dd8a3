package intake_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sentinel-ci/sentinel/app/intake"
)

// Every fixture payload of the events Sentinel handles validates against
// GitHub's JSON schema and decodes to the expected route.
func TestFixturesValidateAndRoute(t *testing.T) {
	dir := filepath.Join("testdata", "webhooks")
	compiler := schemaCompiler(t, filepath.Join(dir, "_schemas", "api.github.com"))
	want := map[string]string{
		"push/payload.json":                              "ignore", // a tag deletion
		"push/with-installation.payload.json":            "ignore",
		"push/with-new-branch.payload.json":              "run",
		"push/1.payload.json":                            "ignore",
		"push/with-no-username-committer.payload.json":   "run",
		"pull_request/opened.payload.json":               "run",
		"pull_request/synchronize.payload.json":          "run",
		"pull_request/reopened.payload.json":             "run",
		"pull_request/closed.payload.json":               "ignore",
		"pull_request/labeled.payload.json":              "ignore",
		"check_suite/rerequested.payload.json":           "rerun",
		"check_suite/completed.payload.json":             "ignore",
		"check_run/rerequested.payload.json":             "rerun",
		"check_run/requested_action.payload.json":        "button",
		"check_run/created.payload.json":                 "ignore",
		"installation/created.payload.json":              "installation",
		"installation/deleted.payload.json":              "installation",
		"installation/suspend.payload.json":              "installation",
		"installation/unsuspend.payload.json":            "installation",
		"installation_repositories/added.payload.json":   "installation",
		"installation_repositories/removed.payload.json": "installation",
		"ping/payload.json":                              "ping",
	}
	for rel, route := range want {
		t.Run(rel, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(dir, rel))
			if err != nil {
				t.Fatal(err)
			}
			event := strings.Split(rel, "/")[0]
			ev, err := intake.ParseEvent(event, body)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if got := routeOf(ev); got != route {
				t.Errorf("route = %s (ignore reason %q), want %s", got, ev.Ignore, route)
			}
			if event == "ping" {
				return // ping has no per-action schema
			}
			schema := filepath.Join(event, ev.Action+".schema.json")
			if ev.Action == "" {
				schema = filepath.Join(event, "event.schema.json")
			}
			sch, err := compiler.Compile(schemaID(filepath.Join(dir, "_schemas", "api.github.com"), schema))
			if err != nil {
				t.Fatalf("compile %s: %v", schema, err)
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(inst); err != nil {
				t.Errorf("fixture does not validate against %s: %v", schema, err)
			}
		})
	}
}

func routeOf(ev *intake.Event) string {
	switch {
	case ev.Ignore != "":
		return "ignore"
	case ev.Kind == "ping":
		return "ping"
	case ev.Run != nil:
		return "run"
	case ev.Rerun != nil:
		return "rerun"
	case ev.Button != nil:
		return "button"
	case ev.Kind == "installation" || ev.Kind == "installation_repositories":
		return "installation"
	}
	return "none"
}

// schemaID places every schema at the root of the schema tree, because
// their relative $refs ("common/user.schema.json") are relative to the root:
// common schemas keep their path, the others get a flattened name there.
func schemaID(root, rel string) string {
	rel = filepath.ToSlash(rel)
	if !strings.HasPrefix(rel, "common/") {
		rel = strings.ReplaceAll(rel, "/", "__")
	}
	return "file://" + filepath.ToSlash(root) + "/" + rel
}

func schemaCompiler(t *testing.T, root string) *jsonschema.Compiler {
	t.Helper()
	c := jsonschema.NewCompiler()
	// The library's uri-template check rejects RFC 6570 forms such as
	// "{/sha}" that GitHub uses everywhere; the format is informational.
	c.RegisterFormat(&jsonschema.Format{Name: "uri-template", Validate: func(any) error { return nil }})
	// GitHub's own check_run examples carry "2018-04-25 20:42:10" (a space,
	// no zone) in app timestamps; accept that form besides RFC 3339.
	c.RegisterFormat(&jsonschema.Format{Name: "date-time", Validate: func(v any) error {
		s, ok := v.(string)
		if !ok {
			return nil
		}
		if _, err := time.Parse(time.RFC3339, s); err == nil {
			return nil
		}
		_, err := time.Parse("2006-01-02 15:04:05", s)
		return err
	}})
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		id := schemaID(root, rel)
		if m, ok := doc.(map[string]any); ok {
			m["$id"] = id
		}
		return c.AddResource(id, doc)
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// FuzzParseEvent: the parse step never panics, whatever the bytes.
func FuzzParseEvent(f *testing.F) {
	dir := filepath.Join("testdata", "webhooks")
	for _, rel := range []string{"push/with-new-branch.payload.json", "pull_request/synchronize.payload.json",
		"check_run/requested_action.payload.json", "installation/created.payload.json", "ping/payload.json"} {
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(strings.Split(rel, "/")[0], b)
	}
	f.Add("push", []byte(`{"ref":"refs/heads/x","after":"1","head_commit":{"message":"[skip ci]"},"repository":{}}`))
	f.Add("pull_request", []byte(`{"action":"opened","pull_request":{"head":{"repo":null}}}`))
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		ev, err := intake.ParseEvent(event, body)
		if err == nil && ev == nil {
			t.Fatal("nil event without an error")
		}
	})
}
