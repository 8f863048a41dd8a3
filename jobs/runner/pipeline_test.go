package runner

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParsePipeline(t *testing.T) {
	t.Parallel()
	const full = `image: golang:1.26
timeout: 20m
env: { CGO_ENABLED: "0" }
limits: { memory: 2g, cpus: 2, pids: 1024, disk: 5g }
steps:
  - name: build
    run: go build ./...
  - name: test
    run: go test -json ./...
    results: go-test-json
    retry_failed: 2
    timeout: 10m
    network: none
    secrets: [NPM_TOKEN, DB_PASSWORD]
  - name: java
    image: maven:3
    run: mvn test
    results: junit:target/**/*.xml
incidents: { after: 3, within: 24h }
quarantine: [example.com/pkg.TestFlaky, other.TestX]
`
	got, err := ParsePipeline(strings.NewReader(full))
	if err != nil {
		t.Fatal(err)
	}
	want := &Pipeline{
		Image: "golang:1.26", Timeout: 20 * time.Minute, Env: map[string]string{"CGO_ENABLED": "0"},
		Limits:     Limits{Memory: 2 << 30, NanoCPUs: 2e9, Pids: 1024, Disk: 5 << 30},
		LimitLines: LimitLines{Memory: 4, CPUs: 4, Pids: 4, Disk: 4},
		Steps: []Step{
			{Name: "build", Run: "go build ./..."},
			{Name: "test", Run: "go test -json ./...", Results: ResultsGoTestJSON, RetryFailed: 2, Timeout: 10 * time.Minute, Network: "none",
				Secrets: []string{"NPM_TOKEN", "DB_PASSWORD"}, SecretLines: []int{14, 14}},
			{Name: "java", Image: "maven:3", Run: "mvn test", Results: "junit:target/**/*.xml"},
		},
		Incidents:  IncidentPolicy{After: 3, Within: 24 * time.Hour},
		Quarantine: []string{"example.com/pkg.TestFlaky", "other.TestX"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

// TestPipelineLimitsAboveCeiling: a pipeline asking for more than the
// server's ceiling is a configuration error naming the line and the setting;
// at or under the ceiling, or unset, it is accepted.
func TestPipelineLimitsAboveCeiling(t *testing.T) {
	t.Parallel()
	ceiling := Limits{Memory: 8 << 30, NanoCPUs: 4e9, Pids: 8192, Disk: 10 << 30}
	for _, tc := range []struct {
		limits string
		want   string // "" means accepted
	}{
		{"{}", ""},
		{"{ memory: 8g, cpus: 4, pids: 8192 }", ""},
		{"{ memory: 2g }", ""},
		{"\n  cpus: 1\n  memory: 16g", ".sentinel.yml line 4: limits.memory 16 GiB is above this Sentinel's ceiling of 8 GiB (SENTINEL_STEP_MAX_MEMORY)"},
		{"{ cpus: 4.5 }", ".sentinel.yml line 2: limits.cpus 4.5 is above this Sentinel's ceiling of 4 (SENTINEL_STEP_MAX_CPUS)"},
		{"\n  pids: 100000", ".sentinel.yml line 3: limits.pids 100000 is above this Sentinel's ceiling of 8192 (SENTINEL_STEP_MAX_PIDS)"},
		{"\n  disk: 10g", ""},
		{"\n  pids: 10\n  disk: 11g", ".sentinel.yml line 4: limits.disk 11 GiB is above this Sentinel's ceiling of 10 GiB (SENTINEL_STEP_MAX_DISK)"},
	} {
		p, err := ParsePipeline(strings.NewReader("image: busybox\nlimits: " + tc.limits + "\nsteps: [{run: 'true'}]\n"))
		if err != nil {
			t.Fatalf("%s: %v", tc.limits, err)
		}
		err = p.CheckLimits(ceiling)
		var ce *ConfigError
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want accepted", tc.limits, err)
		case tc.want != "" && (!errors.As(err, &ce) || err.Error() != tc.want):
			t.Errorf("%s: %v (%T), want %q", tc.limits, err, err, tc.want)
		}
	}
	if err := (&Pipeline{Limits: Limits{Memory: 1 << 40}}).CheckLimits(Limits{}); err != nil {
		t.Errorf("no ceiling: %v", err)
	}
}

func TestLimitsOr(t *testing.T) {
	t.Parallel()
	def := Limits{Memory: 4 << 30, NanoCPUs: 2e9, Pids: 4096}
	if got := (Limits{}).Or(def); got != def {
		t.Errorf("unset: %+v", got)
	}
	if got, want := (Limits{Memory: 1 << 30, Pids: 10}).Or(def), (Limits{Memory: 1 << 30, NanoCPUs: 2e9, Pids: 10}); got != want {
		t.Errorf("got %+v want %+v", got, want)
	}
}

func TestParsePipelineErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"unknown top key", "image: x\nstepz: []\nsteps: [{run: a}]\n", `.sentinel.yml line 2: unknown key "stepz"`},
		{"unknown step key", "image: x\nsteps:\n  - run: a\n    comand: b\n", `.sentinel.yml line 4: unknown key "comand"`},
		{"wrong type", "image: x\nsteps:\n  - run: [a, b]\n", ".sentinel.yml line 3: wrong type: got a list, want a string"},
		{"steps not a list", "image: x\nsteps: build\n", ".sentinel.yml line 2: wrong type: got a string, want a list"},
		// yaml.v3 names the Go type with its package ("runner.rawLimits").
		{"limits not a mapping", "image: x\nlimits: 5\nsteps: [{run: a}]\n", ".sentinel.yml line 2: wrong type: got a number, want a mapping"},
		{"confirm_runs too many", "image: x\nflaky:\n  confirm_runs: 51\nsteps: [{run: a}]\n", `.sentinel.yml line 3: flaky.confirm_runs must be between 0 (no confirmation re-runs) and 50`},
		{"confirm_runs negative", "image: x\nflaky: {confirm_runs: -1}\nsteps: [{run: a}]\n", `.sentinel.yml line 2: flaky.confirm_runs must be between 0 (no confirmation re-runs) and 50`},
		{"empty steps", "image: x\nsteps: []\n", ".sentinel.yml line 2: steps: at least one step is required"},
		{"no steps key", "image: x\n", ".sentinel.yml line 1: steps: at least one step is required"},
		{"empty file", "", ".sentinel.yml line 1: file is empty; it needs at least a steps list"},
		{"bad duration", "image: x\nsteps:\n  - run: a\n    timeout: 10 minutes\n", `.sentinel.yml line 4: bad duration "10 minutes": want a positive duration such as 90s, 10m or 1h`},
		{"negative duration", "image: x\ntimeout: -5m\nsteps: [{run: a}]\n", `.sentinel.yml line 2: bad duration "-5m": want a positive duration such as 90s, 10m or 1h`},
		{"bad memory", "image: x\nlimits: {memory: lots}\nsteps: [{run: a}]\n", `.sentinel.yml line 2: bad size "lots": want a positive size such as 512m or 2g`},
		{"bad cpus", "image: x\nlimits:\n  cpus: -1\nsteps: [{run: a}]\n", `.sentinel.yml line 3: bad cpus "-1": want a positive number such as 2 or 0.5`},
		{"missing run", "image: x\nsteps:\n  - name: build\n", `.sentinel.yml line 3: step "build": run is required`},
		{"no image", "steps:\n  - run: make\n", `.sentinel.yml line 2: step "step-1": no image (set image at the top or on the step)`},
		{"duplicate names", "image: x\nsteps:\n  - {name: a, run: b}\n  - name: a\n    run: c\n", `.sentinel.yml line 4: step name "a" is used twice`},
		{"bad network", "image: x\nsteps:\n  - run: a\n    network: host\n", `.sentinel.yml line 4: step "step-1": network must be bridge or none, not "host"`},
		{"bad results", "image: x\nsteps:\n  - run: a\n    results: tap\n", `.sentinel.yml line 4: step "step-1": results must be go-test-json or junit:GLOB, not "tap"`},
		{"escaping glob", "image: x\nsteps:\n  - run: a\n    results: junit:../x.xml\n", `.sentinel.yml line 4: step "step-1": results: glob "../x.xml" must be relative to the repository and stay inside it`},
		{"retry_run without retry_failed", "image: x\nsteps:\n  - run: a\n    retry_run: b\n", `.sentinel.yml line 4: step "step-1": retry_run is used only with retry_failed`},
		{"bad env name", "image: x\nenv: {\"A-B\": c}\nsteps: [{run: a}]\n", `.sentinel.yml line 2: "A-B" is not a valid environment variable name`},
		{"bad secret name", "image: x\nsteps:\n  - run: a\n    secrets:\n      - OK\n      - NOT-OK\n", `.sentinel.yml line 6: step "step-1": secrets: "NOT-OK" is not a valid environment variable name`},
		{"secret twice", "image: x\nsteps:\n  - run: a\n    secrets: [A1, A1]\n", `.sentinel.yml line 4: step "step-1": secrets: A1 is listed twice`},
		{"secret also in env", "image: x\nsteps:\n  - run: a\n    env: {K: v}\n    secrets:\n      - K\n", `.sentinel.yml line 6: step "step-1": K is both in env and in secrets; keep it in secrets only`},
		{"reserved secret", "image: x\nsteps:\n  - run: a\n    secrets: [SENTINEL_SHA]\n", `.sentinel.yml line 4: step "step-1": secrets: SENTINEL_SHA is reserved for what Sentinel sets itself`},
		{"secrets not a list", "image: x\nsteps:\n  - run: a\n    secrets: K\n", ".sentinel.yml line 4: wrong type: got a string, want a list"},
		{"bad branch glob", "image: x\nwhen:\n  branches: [main, \"rel[\"]\nsteps: [{run: a}]\n", `.sentinel.yml line 3: when.branches: bad glob "rel[": syntax error in pattern`},
		{"bad event", "image: x\nsteps:\n  - run: a\n    when:\n      events:\n        - tag\n", `.sentinel.yml line 6: when.events: "tag" is not one of push, pull_request, api`},
		{"bad path glob", "image: x\nsteps:\n  - run: a\n    when:\n      paths:\n        - \"src/[a-\"\n", `.sentinel.yml line 6: when.paths: bad glob "src/[a-": syntax error in pattern`},
		{"escaping path glob", "image: x\nsteps:\n  - run: a\n    when: {paths: [../x]}\n", `.sentinel.yml line 4: when.paths: glob "../x" must be relative to the repository and stay inside it`},
		{"unknown when key", "image: x\nwhen:\n  branch: [main]\nsteps: [{run: a}]\n", `.sentinel.yml line 3: unknown key "branch"`},
		{"absolute cache path", "image: x\ncache:\n  - node_modules\n  - /var/cache\nsteps: [{run: a}]\n", `.sentinel.yml line 4: cache: cache path "/var/cache" is outside the workspace and the home directory: use a path relative to the repository, or ~/…`},
		{"cache path leaving the workspace", "image: x\ncache: [a/../../b]\nsteps: [{run: a}]\n", `.sentinel.yml line 2: cache: cache path "a/../../b" must stay inside the workspace (and out of .git)`},
		{"cache path leaving home", "image: x\ncache: [\"~/../etc\"]\nsteps: [{run: a}]\n", `.sentinel.yml line 2: cache: cache path "~/../etc" leaves the home directory`},
		{"other user's home", "image: x\ncache: [\"~bob/x\"]\nsteps: [{run: a}]\n", `.sentinel.yml line 2: cache: cache path "~bob/x" is outside the workspace and the home directory: use a path relative to the repository, or ~/…`},
		{"bad service name", "image: x\nservices:\n  - name: My_DB\n    image: postgres\nsteps: [{run: a}]\n", `.sentinel.yml line 3: service name "My_DB": want lower-case letters, digits and -, as steps reach it by that host name`},
		{"service twice", "image: x\nservices:\n  - {name: db, image: a}\n  - name: db\n    image: b\nsteps: [{run: a}]\n", `.sentinel.yml line 4: service name "db" is used twice`},
		{"service without image", "image: x\nservices:\n  - name: db\nsteps: [{run: a}]\n", `.sentinel.yml line 3: service "db": image is required`},
		{"health without run", "image: x\nservices:\n  - name: db\n    image: a\n    health:\n      timeout: 5s\nsteps: [{run: a}]\n", `.sentinel.yml line 5: service "db": health needs run, the command that says it is ready`},
		{"bad health timeout", "image: x\nservices:\n  - name: db\n    image: a\n    health: {run: x, timeout: soon}\nsteps: [{run: a}]\n", `.sentinel.yml line 5: bad duration "soon": want a positive duration such as 90s, 10m or 1h`},
		{"syntax error", "image: x\nsteps: [\n", ".sentinel.yml line 2: did not find expected node content"},
		{"tabs", "image: x\nsteps:\n\t- run: a\n", ".sentinel.yml line 3: found character that cannot start any token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParsePipeline(strings.NewReader(tc.in))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err %v (%T), want a *ConfigError", err, err)
			}
			if err.Error() != tc.want {
				t.Errorf("got  %s\nwant %s", err, tc.want)
			}
		})
	}
}

func FuzzParsePipeline(f *testing.F) {
	f.Add("image: x\nsteps: [{run: a, timeout: 1m, results: 'junit:**/*.xml'}]\nlimits: {memory: 1g}\n")
	f.Add("steps:\n  - run: [\n")
	f.Add("image: &a x\nsteps: *a\n")
	f.Fuzz(func(t *testing.T, in string) {
		p, err := ParsePipeline(strings.NewReader(in))
		if err == nil && len(p.Steps) == 0 {
			t.Fatalf("accepted a pipeline without steps: %q", in)
		}
		var ce *ConfigError
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("error is %T, not *ConfigError: %v", err, err)
		}
	})
}

func TestDetect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files fstest.MapFS
		want  *Pipeline
		err   string
	}{
		{"go module", fstest.MapFS{"go.mod": {Data: []byte("module example.com/m\n\ngo 1.26.0\n\ntoolchain go1.26.8\n")}},
			&Pipeline{Detected: "go", Image: "golang:1.26", Steps: []Step{
				{Name: "build", Run: "go build ./..."},
				{Name: "test", Run: "go test -json ./...", Results: ResultsGoTestJSON}}}, ""},
		{"go module without go line", fstest.MapFS{"go.mod": {Data: []byte("module m\n")}},
			&Pipeline{Detected: "go", Image: "golang:1", Steps: []Step{
				{Name: "build", Run: "go build ./..."},
				{Name: "test", Run: "go test -json ./...", Results: ResultsGoTestJSON}}}, ""},
		{"bad go line", fstest.MapFS{"go.mod": {Data: []byte("module m\ngo latest\n")}}, nil, `go.mod line 2: cannot read the go version from "go latest"`},
		{"python", fstest.MapFS{"requirements.txt": {Data: []byte("requests\n")}},
			&Pipeline{Detected: "python", Image: "python:3.12", Steps: []Step{
				{Name: "build", Run: "pip install -q pytest -r requirements.txt"},
				{Name: "test", Run: "python -m pytest --junitxml=reports/junit.xml", Results: "junit:reports/junit.xml"}}}, ""},
		{"nothing", fstest.MapFS{"README": {Data: []byte("hi")}}, nil, ErrNoPipeline.Error()},
		// Every module is built and tested, even after one fails.
		{"root and nested go modules", fstest.MapFS{
			"go.mod":               {Data: []byte("module example.com/m\n\ngo 1.25\n")},
			"tools/go.mod":         {Data: []byte("module example.com/m/tools\n\ngo 1.26\n")},
			"it's/go.mod":          {Data: []byte("module example.com/m/quoted\n")},
			"testdata/x/go.mod":    {Data: []byte("module example.com/ignored\n")},
			"vendor/a/b/go.mod":    {Data: []byte("module a/b\n")},
			"tools/cmd/gen/gen.go": {Data: []byte("package main\n")}},
			&Pipeline{Detected: "go", Image: "golang:1.25", Steps: []Step{
				{Name: "build", Run: `rc=0; for d in '.' 'it'\''s' 'tools'; do (cd "$d" && { [ -z "$(go list -e ./... 2>/dev/null)" ] || go build ./...; }) || rc=1; done; exit $rc`},
				{Name: "test", Run: `rc=0; for d in '.' 'it'\''s' 'tools'; do (cd "$d" && { [ -z "$(go list -e ./... 2>/dev/null)" ] || go test -json ./...; }) || rc=1; done; exit $rc`, Results: ResultsGoTestJSON}}}, ""},
		{"nested go module only", fstest.MapFS{"svc/go.mod": {Data: []byte("module example.com/svc\n\ngo 1.24.2\n")}, "README.md": {Data: []byte("hi")}},
			&Pipeline{Detected: "go", Image: "golang:1.24", Steps: []Step{
				{Name: "build", Run: `rc=0; for d in 'svc'; do (cd "$d" && { [ -z "$(go list -e ./... 2>/dev/null)" ] || go build ./...; }) || rc=1; done; exit $rc`},
				{Name: "test", Run: `rc=0; for d in 'svc'; do (cd "$d" && { [ -z "$(go list -e ./... 2>/dev/null)" ] || go test -json ./...; }) || rc=1; done; exit $rc`, Results: ResultsGoTestJSON}}}, ""},
		{"go workspace", fstest.MapFS{"go.work": {Data: []byte("go 1.26.0\n\nuse (\n\t./a\n\t./b\n)\n")},
			"a/go.mod": {Data: []byte("module example.com/a\n")}, "b/go.mod": {Data: []byte("module example.com/b\n")}},
			&Pipeline{Detected: "go", Image: "golang:1.26", Steps: []Step{
				{Name: "build", Run: "go build ./..."},
				{Name: "test", Run: "go test -json ./...", Results: ResultsGoTestJSON}}}, ""},
		{"GOPATH-style repository", fstest.MapFS{"main.go": {Data: []byte("package main\n")}}, nil,
			"go.mod: the repository has Go files but no go.mod: add one (go mod init MODULE-PATH, then go mod tidy) or a .sentinel.yml that says how to build and test it"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := LoadPipeline(tc.files)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
	// Every ecosystem's detected pipeline names an image and a test step.
	for _, file := range []string{"Cargo.toml", "pom.xml", "package.json", "pyproject.toml"} {
		p, err := Detect(fstest.MapFS{file: {Data: []byte("x")}})
		if err != nil || p.Image == "" || len(p.Steps) != 2 || p.Steps[1].Name != "test" {
			t.Errorf("%s: %+v %v", file, p, err)
		}
	}
}

func TestGlobFiles(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"reports/a.xml":              {},
		"reports/sub/deep/b.xml":     {},
		"reports/c.txt":              {},
		"target/surefire/TEST-x.xml": {},
		".git/reports/d.xml":         {},
	}
	tests := map[string][]string{
		"reports/**/*.xml":       {"reports/a.xml", "reports/sub/deep/b.xml"},
		"reports/*.xml":          {"reports/a.xml"},
		"**/TEST-*.xml":          {"target/surefire/TEST-x.xml"},
		"**/*.xml":               {"reports/a.xml", "reports/sub/deep/b.xml", "target/surefire/TEST-x.xml"},
		"reports/sub/deep/b.xml": {"reports/sub/deep/b.xml"},
	}
	for glob, want := range tests {
		got, err := GlobFiles(fsys, glob)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got)\n%s", glob, diff)
		}
	}
}

func TestWhenMatch(t *testing.T) {
	t.Parallel()
	p, err := ParsePipeline(strings.NewReader(`image: x
when: {events: [push, pull_request]}
steps:
  - name: release
    run: a
    when: {branches: ["release/**", main]}
  - name: docs
    run: b
    when: {paths: ["docs/**", "*.md"]}
`))
	if err != nil {
		t.Fatal(err)
	}
	rel, docs := p.Steps[0].When, p.Steps[1].When
	tests := []struct {
		name string
		w    When
		f    Facts
		ok   bool
		why  string
	}{
		{"pipeline event", p.When, Facts{Event: "api"}, false, "when.events [push pull_request] does not include api"},
		{"pipeline event ok", p.When, Facts{Event: "push"}, true, ""},
		{"branch deep", rel, Facts{Branch: "release/1.2/hotfix"}, true, ""},
		{"branch exact", rel, Facts{Branch: "main"}, true, ""},
		{"branch other", rel, Facts{Branch: "feature/x"}, false, "when.branches [release/** main] does not match branch feature/x"},
		{"path match", docs, Facts{ChangedKnown: true, Changed: []string{"go.mod", "docs/a/b.txt"}}, true, ""},
		{"star stays in its segment", docs, Facts{ChangedKnown: true, Changed: []string{"sub/README.md"}}, false, "when.paths [docs/** *.md] matches none of the 1 changed paths"},
		{"root md", docs, Facts{ChangedKnown: true, Changed: []string{"README.md"}}, true, ""},
		{"unknown changes run", docs, Facts{}, true, ""},
		{"known but empty", docs, Facts{ChangedKnown: true}, false, "when.paths [docs/** *.md] matches none of the 0 changed paths"},
	}
	for _, tc := range tests {
		ok, why := tc.w.Match(tc.f)
		if ok != tc.ok || why != tc.why {
			t.Errorf("%s: got %v %q, want %v %q", tc.name, ok, why, tc.ok, tc.why)
		}
	}
}

func TestCaches(t *testing.T) {
	t.Parallel()
	p, err := ParsePipeline(strings.NewReader("image: x\ncache: [node_modules/.cache, \"~/.cache/pre-commit\"]\nsteps: [{run: a}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Caches) != 2 || p.Caches[0].Target != "/workspace/node_modules/.cache" || p.Caches[1].Target != "/root/.cache/pre-commit" ||
		!strings.HasPrefix(p.Caches[0].Key, "path-workspace_node_modules_.cache-") {
		t.Errorf("caches %+v", p.Caches)
	}
	fsys := fstest.MapFS{"go.mod": {}, "web/package.json": {}, "pom.xml": {}}
	var keys []string
	for _, c := range DefaultCaches(fsys, false) {
		keys = append(keys, c.Key+"="+c.Env)
	}
	if got := strings.Join(keys, " "); got != "go-mod=GOMODCACHE go-build=GOCACHE maven=" {
		t.Errorf("defaults %s", got)
	}
	if got := DefaultCaches(fstest.MapFS{"README": {}}, true); len(got) != 2 || got[0].Key != "go-mod" {
		t.Errorf("nested Go modules: %+v", got)
	}
}

// TestParsePipelineFlaky: confirm_runs defaults to triage's default when
// unset, 0 turns confirmation off, and pull requests are opted into.
func TestParsePipelineFlaky(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]FlakyPolicy{
		"image: x\nsteps: [{run: a}]\n":                                                        flakyPolicy(10, false),
		"image: x\nflaky: {confirm_runs: 0}\nsteps: [{run: a}]\n":                              flakyPolicy(0, false),
		"image: x\nflaky: {confirm_runs: 4, confirm_pull_requests: true}\nsteps: [{run: a}]\n": flakyPolicy(4, true),
	} {
		p, err := ParsePipeline(strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		if p.Flaky.Runs() != want.Runs() || p.Flaky.ConfirmPullRequests != want.ConfirmPullRequests {
			t.Errorf("%q: confirm_runs %d, pull requests %v; want %d, %v", in, p.Flaky.Runs(), p.Flaky.ConfirmPullRequests, want.Runs(), want.ConfirmPullRequests)
		}
	}
}

func flakyPolicy(runs int, prs bool) FlakyPolicy {
	return FlakyPolicy{ConfirmRuns: &runs, ConfirmPullRequests: prs}
}
