package triage

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Realistic logs from each ecosystem, one per category and tool. want
// names the line a person would mark as the error: it must be among the
// evidence, and the category must be right.
func TestAnalyzeLogCategories(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file     string
		category Category
		line     int64 // a line that must be in the evidence
	}{
		{"compile_go.log", CategoryCompile, 5},
		{"compile_ts.log", CategoryCompile, 4},
		{"compile_rust.log", CategoryCompile, 5},
		{"compile_java_maven.log", CategoryCompile, 11},
		{"test_go.log", CategoryTest, 5},
		{"test_pytest.log", CategoryTest, 20},
		{"test_go_verbose.log", CategoryTest, 9},
		{"test_jest.log", CategoryTest, 5},
		{"test_jest_ansi.log", CategoryTest, 3},
		{"test_jest_with_warnings.log", CategoryTest, 11},
		{"test_gradle.log", CategoryTest, 7},
		{"test_cargo.log", CategoryTest, 7},
		{"dependency_go.log", CategoryDependency, 4},
		{"dependency_npm.log", CategoryDependency, 4},
		{"dependency_pip.log", CategoryDependency, 4},
		{"dependency_maven.log", CategoryDependency, 6},
		{"dependency_cargo_cr.log", CategoryDependency, 2},
		{"network_npm.log", CategoryNetwork, 2},
		{"network_pip.log", CategoryNetwork, 2},
		{"network_go.log", CategoryNetwork, 2},
		{"disk_docker.log", CategoryDisk, 2},
		{"disk_npm.log", CategoryDisk, 1},
		{"oom_node.log", CategoryOOM, 13},
		{"oom_killed.log", CategoryOOM, 8},
		{"oom_java.log", CategoryOOM, 4},
		{"oom_shell_killed.log", CategoryOOM, 4},
		{"oom_exit137.log", CategoryOOM, 6},
		{"oom_cc_signal.log", CategoryOOM, 5},
		{"oom_memory_exhausted.log", CategoryOOM, 4},
		{"timeout_go.log", CategoryTimeout, 2},
		{"timeout_job.log", CategoryTimeout, 6},
		{"lint_golangci.log", CategoryLint, 2},
		{"lint_eslint.log", CategoryLint, 5},
		{"lint_flake8.log", CategoryLint, 2},
		{"infra_docker.log", CategoryInfrastructure, 2},
		{"infra_runner.log", CategoryInfrastructure, 4},
		{"config_command.log", CategoryConfiguration, 4},
		{"config_npm_script.log", CategoryConfiguration, 2},
		{"config_go_version.log", CategoryConfiguration, 2},
		{"unknown_script.log", CategoryUnknown, 4},
		{"unknown_python_traceback.log", CategoryUnknown, 8},
		{"test_maven.log", CategoryTest, 6},
		{"lint_mypy.log", CategoryLint, 2},
		{"lint_govet.log", CategoryLint, 3},
		{"dependency_pytest_import.log", CategoryDependency, 10},
		{"test_make_echo.log", CategoryTest, 4},
		{"compile_kotlin.log", CategoryCompile, 2},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			f, err := os.Open(filepath.Join("testdata", "logs", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fs, err := Analyze([]StepInput{{Facts: StepFacts{Step: "build", ExitCode: 1, State: "failed"}, Log: f}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			// Every diagnostic of the Go compiler is a failure of its own.
			want := map[string]int{"compile_go.log": 2}[tc.file]
			if want == 0 {
				want = 1
			}
			if len(fs) != want {
				t.Fatalf("got %d failures, want %d: %+v", len(fs), want, fs)
			}
			got := fs[0]
			if got.Category != tc.category {
				t.Errorf("category = %s (rule %s, %q), want %s", got.Category, got.Rule, got.Title, tc.category)
			}
			var lines []int64
			for _, e := range got.Evidence {
				lines = append(lines, e.Line)
			}
			if tc.file == "test_go_verbose.log" && slices.ContainsFunc(lines, func(l int64) bool { return l == 2 || l == 5 || l == 12 }) {
				t.Errorf("evidence lines %v include log lines of passing tests", lines)
			}
			if !slices.Contains(lines, tc.line) {
				t.Errorf("evidence lines %v do not include line %d", lines, tc.line)
			}
			if len(got.Fingerprint) != 64 || got.Title == "" || got.Remediation == "" || got.NormalizedMessage == "" {
				t.Errorf("incomplete failure: %+v", got)
			}
			if got.Confidence <= 0 || got.Confidence > 1 {
				t.Errorf("confidence %v out of range", got.Confidence)
			}
		})
	}
}

func TestRunnerFactsDecideFirst(t *testing.T) {
	t.Parallel()
	log := "=== RUN TestX\n--- FAIL: TestX (0.00s)\nFAIL\n"
	cases := []struct {
		name  string
		facts StepFacts
		want  Category
	}{
		{"oom killed", StepFacts{OOMKilled: true, ExitCode: 137, State: "failed"}, CategoryOOM},
		{"exit 137", StepFacts{ExitCode: 137, State: "failed"}, CategoryOOM},
		{"deadline", StepFacts{TimedOut: true, ExitCode: -1, State: "failed"}, CategoryTimeout},
		{"image pull", StepFacts{State: "errored", InfraError: "Error response from daemon: pull access denied for foo"}, CategoryInfrastructure},
		{"infra dns", StepFacts{State: "errored", InfraError: "dial tcp: lookup registry-1.docker.io: Temporary failure in name resolution"}, CategoryNetwork},
		{"errored", StepFacts{State: "errored"}, CategoryInfrastructure},
		{"plain failure", StepFacts{ExitCode: 1, State: "failed"}, CategoryTest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs, err := Analyze([]StepInput{{Facts: tc.facts, Log: stringsReader(log)}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) == 0 || fs[0].Category != tc.want {
				t.Fatalf("failures = %+v, want first category %s", fs, tc.want)
			}
		})
	}
}

func TestSucceededStepHasNoFailure(t *testing.T) {
	t.Parallel()
	fs, err := Analyze([]StepInput{{Facts: StepFacts{State: "succeeded"}, Log: stringsReader("warning: error-prone code\nok\n")}}, Options{})
	if err != nil || len(fs) != 0 {
		t.Fatalf("Analyze = %+v, %v; want no failures", fs, err)
	}
}

func TestEnvironmentCausesGroupAcrossResources(t *testing.T) {
	t.Parallel()
	pairs := [][2]string{
		{"npm ERR! network request to https://registry.npmjs.org/react failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org",
			"npm ERR! network request to https://registry.npmjs.org/lodash failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org"},
		{"write /root/.cache/go-build/3f/abc-d: no space left on device",
			"write /tmp/x/y.o: no space left on device"},
	}
	for _, p := range pairs {
		var fps []string
		for _, line := range p {
			fs, err := Analyze([]StepInput{{Facts: StepFacts{ExitCode: 1}, Log: stringsReader(line + "\n")}}, Options{})
			if err != nil || len(fs) != 1 {
				t.Fatalf("Analyze(%q) = %+v, %v", line, fs, err)
			}
			fps = append(fps, fs[0].Fingerprint)
		}
		if fps[0] != fps[1] {
			t.Errorf("same environment cause, different fingerprints:\n%s\n%s", p[0], p[1])
		}
	}
	// A missing package is the package's fault: names must stay apart.
	a, _ := Analyze([]StepInput{{Facts: StepFacts{ExitCode: 1}, Log: stringsReader("npm ERR! 404 Not Found - GET https://registry.npmjs.org/left-pad\n")}}, Options{})
	b, _ := Analyze([]StepInput{{Facts: StepFacts{ExitCode: 1}, Log: stringsReader("npm ERR! 404 Not Found - GET https://registry.npmjs.org/right-pad\n")}}, Options{})
	if a[0].Fingerprint == b[0].Fingerprint {
		t.Error("different missing packages share a fingerprint")
	}
}

func TestMoreEcosystemsOneLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		log  string
		want Category
	}{
		{"  Failed Shop.Tests.CartTests.TotalWithDiscount [12 ms]\n  Error Message:\n   Assert.Equal() Failure\n", CategoryTest},
		{"FAILURES!\nTests: 12, Assertions: 30, Failures: 1.\n", CategoryTest},
		{"Test Case '-[ShopTests.CartTests testTotal]' failed (0.012 seconds).\n", CategoryTest},
		{"Cart.cs(12,5): error CS0103: The name 'discount' does not exist in the current context\n", CategoryCompile},
		{"main.c:12:5: error: 'discount' undeclared (first use in this function)\n", CategoryCompile},
		{"ld: /tmp/cc1.o: undefined reference to `discount'\ncollect2: error: ld returned 1 exit status\n", CategoryCompile},
		{"E: Unable to locate package libfoo-dev\n", CategoryDependency},
		{"Bundler::GemNotFound: Could not find rake-13.0.6 in any of the sources\n", CategoryDependency},
		{"curl: (6) Could not resolve host: example.com\n", CategoryNetwork},
		{"fatal: unable to access 'https://github.com/acme/x/': Could not resolve host: github.com\n", CategoryNetwork},
		{"toomanyrequests: You have reached your pull rate limit.\n", CategoryInfrastructure},
		{"OSError: [Errno 28] No space left on device: '/tmp/x'\n", CategoryDisk},
	} {
		fs, err := Analyze([]StepInput{{Facts: StepFacts{ExitCode: 1}, Log: stringsReader(tc.log)}}, Options{})
		if err != nil || len(fs) == 0 || fs[0].Category != tc.want {
			t.Errorf("%q: got %+v (%v), want %s", tc.log, fs, err, tc.want)
		}
	}
}

// A KeyError names a missing environment variable only when the key is
// spelled like one: a dictionary's lower-case key is the code's error.
func TestKeyErrorOfDictIsNotConfiguration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		line string
		want Category
	}{
		{"KeyError: 'port'", CategoryUnknown},
		{"KeyError: 'DATABASE_URL'", CategoryConfiguration},
	} {
		log := "Traceback (most recent call last):\n  File \"app/config.py\", line 10, in port\n    return int(cfg[\"server\"][\"port\"])\n" + tc.line + "\n"
		fs, err := Analyze([]StepInput{{Facts: StepFacts{ExitCode: 1}, Log: stringsReader(log)}}, Options{})
		if err != nil || len(fs) == 0 {
			t.Fatalf("Analyze: %v %v", fs, err)
		}
		if got := fs[0].Category; (tc.want == CategoryConfiguration) != (got == CategoryConfiguration) {
			t.Errorf("%s: category %s (%s), want configuration only for an environment variable's name", tc.line, got, fs[0].Rule)
		}
	}
}
