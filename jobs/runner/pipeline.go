package runner

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sentinel-ci/sentinel/triage"
)

// PipelineFile is the name of the pipeline file at the repository root.
const PipelineFile = ".sentinel.yml"

// Pipeline is a parsed, validated .sentinel.yml (or a detected one).
type Pipeline struct {
	Image      string
	Timeout    time.Duration // whole run; 0 means the runner's default
	Env        map[string]string
	Limits     Limits
	LimitLines LimitLines // where the file sets each limit, for errors
	Steps      []Step
	Incidents  IncidentPolicy
	Quarantine []string     // test identities whose failures do not fail the run
	Matchers   []string     // repository paths of problem-matcher files (GitHub Actions' JSON format)
	Detected   string       // ecosystem name when the pipeline was detected, "" when read from the file
	When       When         // runs not matching it skip every step
	Caches     []CacheMount // from cache:, besides the ecosystem's defaults
	Services   []Service    // started before the steps, on the run's network
	Flaky      FlakyPolicy
}

// FlakyPolicy is what flaky: says Sentinel may do about flaky tests.
type FlakyPolicy struct {
	// ConfirmRuns is how many times a test that failed is re-run alone
	// at its commit to confirm it flaky or broken; nil: the default
	// (triage.DefaultConfirmRuns), 0: never.
	ConfirmRuns *int
	// ConfirmPullRequests re-runs failures of pull requests too (by
	// default only the default branch's).
	ConfirmPullRequests bool
	// AutoQuarantine: a test confirmed flaky on the default branch is
	// quarantined, and a pull request adding it to QuarantineFile opened.
	AutoQuarantine bool
	// RecoverRuns is how many passing runs in a row end a quarantine
	// Sentinel proposed (the pull request removing it); 0: the default.
	RecoverRuns int
}

// Runs is the number of confirmation re-runs, with the default applied.
func (f FlakyPolicy) Runs() int {
	if f.ConfirmRuns == nil {
		return triage.DefaultConfirmRuns
	}
	return *f.ConfirmRuns
}

// Step is one step of a pipeline.
type Step struct {
	Name        string
	Run         string
	Image       string // "" means the pipeline's image
	Timeout     time.Duration
	Env         map[string]string
	Results     string // "", "go-test-json" or "junit:GLOB"
	RetryFailed int
	RetryRun    string // command of a retry, "" for Run; sees SENTINEL_RETRY_TESTS
	Network     string // "" (default bridge) or "none"
	// Secrets are the names of the stored secrets the step receives as
	// environment variables; SecretLines their lines in the file, for the
	// error when one is not set.
	Secrets     []string
	SecretLines []int
	When        When // a run not matching it skips the step
}

// Limits are resource limits for each step's container.
type Limits struct {
	Memory   int64 // bytes
	NanoCPUs int64 // 1e9 per CPU
	Pids     int64
	Disk     int64 // bytes of workspace (checkout and all a step writes there)
}

// IncidentPolicy is the repository's threshold for opening an incident.
type IncidentPolicy struct {
	After  int
	Within time.Duration
}

// ResultsFormat values.
const (
	ResultsGoTestJSON  = "go-test-json"
	resultsJUnitPrefix = "junit:"
)

// JUnitGlob returns the glob of a "junit:GLOB" results setting.
func (s Step) JUnitGlob() (string, bool) {
	g, ok := strings.CutPrefix(s.Results, resultsJUnitPrefix)
	return g, ok
}

// ConfigError is a problem in the pipeline file; the run fails with category
// configuration and this message.
type ConfigError struct {
	File string // "" means PipelineFile
	Line int    // 0 when unknown
	Msg  string
}

func (e *ConfigError) Error() string {
	file := e.File
	if file == "" {
		file = PipelineFile
	}
	if e.Line > 0 {
		return fmt.Sprintf("%s line %d: %s", file, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", file, e.Msg)
}

// maxPipelineSize keeps a hostile file from costing more than a parse should.
const maxPipelineSize = 1 << 20

type rawPipeline struct {
	Image      string            `yaml:"image"`
	Timeout    yamlDuration      `yaml:"timeout"`
	Env        map[string]string `yaml:"env"`
	Limits     rawLimits         `yaml:"limits"`
	Steps      []rawStep         `yaml:"steps"`
	Incidents  rawIncidents      `yaml:"incidents"`
	Quarantine []string          `yaml:"quarantine"`
	Matchers   []string          `yaml:"matchers"`
	When       rawWhen           `yaml:"when"`
	Cache      []string          `yaml:"cache"`
	Services   []rawService      `yaml:"services"`
	Flaky      rawFlaky          `yaml:"flaky"`
}

type rawFlaky struct {
	ConfirmRuns         *int `yaml:"confirm_runs"`
	ConfirmPullRequests bool `yaml:"confirm_pull_requests"`
	AutoQuarantine      bool `yaml:"auto_quarantine"`
	RecoverRuns         int  `yaml:"recover_runs"`
}

type rawStep struct {
	Name        string            `yaml:"name"`
	Run         string            `yaml:"run"`
	Image       string            `yaml:"image"`
	Timeout     yamlDuration      `yaml:"timeout"`
	Env         map[string]string `yaml:"env"`
	Results     string            `yaml:"results"`
	RetryFailed int               `yaml:"retry_failed"`
	RetryRun    string            `yaml:"retry_run"`
	Network     string            `yaml:"network"`
	Secrets     []string          `yaml:"secrets"`
	When        rawWhen           `yaml:"when"`
}

type rawLimits struct {
	Memory yamlBytes `yaml:"memory"`
	CPUs   yamlCPUs  `yaml:"cpus"`
	Pids   int64     `yaml:"pids"`
	Disk   yamlBytes `yaml:"disk"`
}

type rawIncidents struct {
	After  int          `yaml:"after"`
	Within yamlDuration `yaml:"within"`
}

// ParsePipeline reads and validates a pipeline file strictly: unknown keys,
// wrong types, missing steps and bad values are a *ConfigError naming the line.
func ParsePipeline(r io.Reader) (*Pipeline, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxPipelineSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", PipelineFile, err)
	}
	if len(data) > maxPipelineSize {
		return nil, &ConfigError{Msg: "file is larger than 1 MiB"}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(err)
	}
	if len(root.Content) == 0 {
		return nil, &ConfigError{Line: 1, Msg: "file is empty; it needs at least a steps list"}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var raw rawPipeline
	if err := dec.Decode(&raw); err != nil {
		return nil, yamlError(err)
	}
	return raw.validate(root.Content[0])
}

func (raw *rawPipeline) validate(doc *yaml.Node) (*Pipeline, error) {
	p := &Pipeline{
		Image:   strings.TrimSpace(raw.Image),
		Timeout: raw.Timeout.d,
		Env:     raw.Env,
		Limits:  Limits{Memory: raw.Limits.Memory.n, NanoCPUs: raw.Limits.CPUs.n, Pids: raw.Limits.Pids, Disk: raw.Limits.Disk.n},
		LimitLines: LimitLines{Memory: lineOf(doc, "limits", "memory"), CPUs: lineOf(doc, "limits", "cpus"), Pids: lineOf(doc, "limits", "pids"),
			Disk: lineOf(doc, "limits", "disk")},
		Incidents:  IncidentPolicy{After: raw.Incidents.After, Within: raw.Incidents.Within.d},
		Quarantine: raw.Quarantine,
	}
	if err := checkEnv(doc, p.Env, "env"); err != nil {
		return nil, err
	}
	var err error
	if p.When, err = parseWhen(doc, raw.When, "when"); err != nil {
		return nil, err
	}
	if p.Services, err = parseServices(doc, raw.Services); err != nil {
		return nil, err
	}
	for j, c := range raw.Cache {
		m, err := pathCache(c)
		if err != nil {
			return nil, &ConfigError{Line: lineOf(doc, "cache", j), Msg: "cache: " + err.Error()}
		}
		p.Caches = append(p.Caches, m)
	}
	if raw.Limits.Pids < 0 {
		return nil, &ConfigError{Line: lineOf(doc, "limits", "pids"), Msg: "limits.pids must not be negative"}
	}
	if n := raw.Flaky.ConfirmRuns; n != nil && (*n < 0 || *n > triage.MaxConfirmRuns) {
		return nil, &ConfigError{Line: lineOf(doc, "flaky", "confirm_runs"),
			Msg: fmt.Sprintf("flaky.confirm_runs must be between 0 (no confirmation re-runs) and %d", triage.MaxConfirmRuns)}
	}
	if raw.Flaky.RecoverRuns < 0 || raw.Flaky.RecoverRuns > 1000 {
		return nil, &ConfigError{Line: lineOf(doc, "flaky", "recover_runs"), Msg: "flaky.recover_runs must be between 1 and 1000 (0 or absent: 30)"}
	}
	p.Flaky = FlakyPolicy{ConfirmRuns: raw.Flaky.ConfirmRuns, ConfirmPullRequests: raw.Flaky.ConfirmPullRequests,
		AutoQuarantine: raw.Flaky.AutoQuarantine, RecoverRuns: raw.Flaky.RecoverRuns}
	if raw.Incidents.After < 0 {
		return nil, &ConfigError{Line: lineOf(doc, "incidents", "after"), Msg: "incidents.after must not be negative"}
	}
	if err := checkMatcherPaths(doc, raw.Matchers); err != nil {
		return nil, err
	}
	p.Matchers = raw.Matchers
	if len(raw.Steps) == 0 {
		line := lineOf(doc, "steps")
		if line == 0 {
			line = doc.Line
		}
		return nil, &ConfigError{Line: line, Msg: "steps: at least one step is required"}
	}
	names := map[string]bool{}
	for i, rs := range raw.Steps {
		at := func(keys ...string) int { return lineOf(doc, append([]any{"steps", i}, toAny(keys)...)...) }
		s := Step{
			Name: strings.TrimSpace(rs.Name), Run: rs.Run, Image: strings.TrimSpace(rs.Image),
			Timeout: rs.Timeout.d, Env: rs.Env, Results: strings.TrimSpace(rs.Results),
			RetryFailed: rs.RetryFailed, RetryRun: strings.TrimSpace(rs.RetryRun), Network: rs.Network,
		}
		if s.Name == "" {
			s.Name = fmt.Sprintf("step-%d", i+1)
		}
		if names[s.Name] {
			return nil, &ConfigError{Line: at("name"), Msg: fmt.Sprintf("step name %q is used twice", s.Name)}
		}
		names[s.Name] = true
		if strings.TrimSpace(s.Run) == "" {
			return nil, &ConfigError{Line: at(), Msg: fmt.Sprintf("step %q: run is required", s.Name)}
		}
		if s.Image == "" && p.Image == "" {
			return nil, &ConfigError{Line: at(), Msg: fmt.Sprintf("step %q: no image (set image at the top or on the step)", s.Name)}
		}
		switch s.Network {
		case "", "bridge", "none":
		default:
			return nil, &ConfigError{Line: at("network"), Msg: fmt.Sprintf("step %q: network must be bridge or none, not %q", s.Name, s.Network)}
		}
		if s.RetryFailed < 0 || s.RetryFailed > 10 {
			return nil, &ConfigError{Line: at("retry_failed"), Msg: fmt.Sprintf("step %q: retry_failed must be between 0 and 10", s.Name)}
		}
		if g, ok := s.JUnitGlob(); ok {
			if err := checkGlob(g); err != nil {
				return nil, &ConfigError{Line: at("results"), Msg: fmt.Sprintf("step %q: results: %v", s.Name, err)}
			}
		} else if s.Results != "" && s.Results != ResultsGoTestJSON {
			return nil, &ConfigError{Line: at("results"), Msg: fmt.Sprintf("step %q: results must be go-test-json or junit:GLOB, not %q", s.Name, s.Results)}
		}
		if s.RetryRun != "" && s.RetryFailed == 0 {
			return nil, &ConfigError{Line: at("retry_run"), Msg: fmt.Sprintf("step %q: retry_run is used only with retry_failed", s.Name)}
		}
		if err := checkEnv(doc, s.Env, "steps", i, "env"); err != nil {
			return nil, err
		}
		if s.When, err = parseWhen(doc, rs.When, "steps", i, "when"); err != nil {
			return nil, err
		}
		if err := s.checkSecrets(rs.Secrets, func(j int) int { return lineOf(doc, "steps", i, "secrets", j) }); err != nil {
			return nil, err
		}
		p.Steps = append(p.Steps, s)
	}
	return p, nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func checkEnv(doc *yaml.Node, env map[string]string, path ...any) error {
	for k := range env {
		if !envName.MatchString(k) {
			return &ConfigError{Line: lineOf(doc, append(path, k)...), Msg: fmt.Sprintf("%q is not a valid environment variable name", k)}
		}
	}
	return nil
}

func toAny(keys []string) []any {
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = k
	}
	return out
}

// lineOf finds the line of the node at path (map keys as strings, sequence
// indexes as ints); for a map key it is the key's line. 0 when absent.
func lineOf(n *yaml.Node, path ...any) int {
	line := n.Line
	for _, p := range path {
		switch key := p.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return line
			}
			found := false
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == key {
					line, n, found = n.Content[j].Line, n.Content[j+1], true
					break
				}
			}
			if !found {
				return line
			}
		case int:
			if n.Kind != yaml.SequenceNode || key >= len(n.Content) {
				return line
			}
			n = n.Content[key]
			line = n.Line
		}
	}
	return line
}

var (
	yamlLinePrefix = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownField   = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	wrongType      = regexp.MustCompile(`^cannot unmarshal !!(\w+) (?:` + "`" + `[^` + "`" + `]*` + "`" + ` )?into (\S+)$`)
)

// yamlError turns yaml.v3's errors into a ConfigError with the first
// problem's line and a message a user can act on.
func yamlError(err error) error {
	var ce *ConfigError
	if errors.As(err, &ce) {
		return ce
	}
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	m := yamlLinePrefix.FindStringSubmatch(msg)
	if m == nil {
		return &ConfigError{Msg: strings.TrimPrefix(msg, "yaml: ")}
	}
	line, _ := strconv.Atoi(m[1])
	text := m[2]
	if f := unknownField.FindStringSubmatch(text); f != nil {
		text = fmt.Sprintf("unknown key %q", f[1])
	} else if w := wrongType.FindStringSubmatch(text); w != nil {
		text = fmt.Sprintf("wrong type: got a %s, want %s", yamlKind(w[1]), goKind(w[2]))
	}
	return &ConfigError{Line: line, Msg: text}
}

func yamlKind(tag string) string {
	switch tag {
	case "seq":
		return "list"
	case "map":
		return "mapping"
	case "str":
		return "string"
	case "int", "float":
		return "number"
	}
	return tag
}

func goKind(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "runner.raw"):
		return "a mapping"
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "a whole number"
	case t == "bool":
		return "true or false"
	}
	return t
}
