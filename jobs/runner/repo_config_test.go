package runner

import (
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sentinel-ci/sentinel/triage"
)

func TestParseRules(t *testing.T) {
	list := `- id: acme.license
  pattern: 'license server (\S+) unreachable'
  category: infrastructure
  title: 'License server $1 is down'
  remediation: Page the tools team.
  confidence: 0.95
- id: acme.progress
  pattern: '^Uploading artifacts'
  noise: true
`
	rules, err := ParseRules(RulesFile, []byte(list))
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 2 || rules[0].ID != "acme.license" || rules[0].Category != triage.CategoryInfrastructure || !rules[1].Noise {
		t.Fatalf("rules = %+v", rules)
	}
	wrapped, err := ParseRules(RulesFile, []byte("rules:\n"+indent(list)))
	if err != nil || len(wrapped) != 2 {
		t.Fatalf("rules: key: %+v, %v", wrapped, err)
	}
	// Overriding a built-in rule by id may change one field; disabling needs only the id.
	builtin := triage.BuiltinRules()[0].ID
	if _, err := ParseRules(RulesFile, []byte("- id: "+builtin+"\n  remediation: Ask the build team.\n- id: "+triage.BuiltinRules()[1].ID+"\n  disabled: true\n")); err != nil {
		t.Fatalf("override and disable: %v", err)
	}
	if rules, err := ParseRules(RulesFile, []byte("")); err != nil || rules != nil {
		t.Fatalf("empty file: %v %v", rules, err)
	}
}

func indent(s string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i := range lines {
		lines[i] = "  " + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}

func TestParseRulesErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"bad pattern", "- id: a.b\n  pattern: x\n  category: test\n  title: T\n  confidence: 0.5\n- id: a.c\n  pattern: '(unclosed'\n  category: test\n  title: T\n  confidence: 0.5\n", "line 6: rule \"a.c\": bad pattern"},
		{"unknown key", "- id: a.b\n  pattern: x\n  categroy: test\n", `line 3: unknown key "categroy"`},
		{"unknown category", "- id: a.b\n  pattern: x\n  category: flaky\n  title: T\n  confidence: 0.5\n", `line 1: rule "a.b": unknown category "flaky"`},
		{"new without title", "- id: a.b\n  pattern: x\n  category: test\n  confidence: 0.5\n", "empty title"},
		{"twice", "- id: a.b\n  disabled: true\n- id: a.b\n  disabled: true\n", "line 3: rule \"a.b\" is defined twice"},
		{"syntax", "- id: a.b\n  pattern: [\n", ".sentinel/rules.yml line"},
		{"not a list", "id: a.b\n", `line 1: unknown key "id"`},
		{"confidence", "- id: a.b\n  pattern: x\n  category: test\n  title: T\n  confidence: 3\n", "confidence 3 is not in (0,1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRules(RulesFile, []byte(tc.src))
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), RulesFile) {
				t.Fatalf("error %v, want a *ConfigError for %s containing %q", err, RulesFile, tc.want)
			}
		})
	}
}

func TestLoadRulesAbsentIsNone(t *testing.T) {
	rules, err := LoadRules(fstest.MapFS{"README.md": {Data: []byte("x")}})
	if err != nil || rules != nil {
		t.Fatalf("LoadRules without a file = %v, %v", rules, err)
	}
}

func TestPipelineMatchersKey(t *testing.T) {
	p, err := ParsePipeline(strings.NewReader("image: alpine\nmatchers:\n  - .github/eslint.json\n  - ci/gcc.json\nsteps:\n  - run: make\n"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(p.Matchers, ",") != ".github/eslint.json,ci/gcc.json" {
		t.Fatalf("matchers = %v", p.Matchers)
	}
	for _, tc := range []struct{ src, want string }{
		{"image: alpine\nmatchers:\n  - ok.json\n  - /etc/m.json\nsteps:\n  - run: make\n", "line 4: matchers: \"/etc/m.json\" must be a path relative"},
		{"image: alpine\nmatchers:\n  - ../m.json\nsteps:\n  - run: make\n", "line 3: matchers:"},
		{"image: alpine\nmatchers:\n  - a.json\n  - ./a.json\nsteps:\n  - run: make\n", "line 4: matchers: \"./a.json\" is listed twice"},
		{"image: alpine\nmatchers: a.json\nsteps:\n  - run: make\n", "line 2: wrong type"},
	} {
		_, err := ParsePipeline(strings.NewReader(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParsePipeline(%q) = %v, want %q", tc.src, err, tc.want)
		}
	}
}

func TestLoadMatchers(t *testing.T) {
	repo := fstest.MapFS{
		"ci/ok.json":  {Data: []byte(`{"problemMatcher": [{"owner": "x", "pattern": [{"regexp": "^(\\S+):(\\d+): (.*)$", "file": 1, "line": 2, "message": 3}]}]}`)},
		"ci/bad.json": {Data: []byte("{\n  \"problemMatcher\": [\n    {\"owner\": \"x\" \"pattern\": []}\n  ]\n}\n")},
	}
	files, err := LoadMatchers(repo, []string{"ci/ok.json"})
	if err != nil || len(files) != 1 || files[0].Path != "ci/ok.json" {
		t.Fatalf("LoadMatchers = %+v, %v", files, err)
	}
	files, err = LoadMatchers(repo, []string{"ci/bad.json", "ci/ok.json"})
	if err == nil || !strings.HasPrefix(err.Error(), "ci/bad.json line 3: invalid JSON") || len(files) != 1 {
		t.Errorf("bad file: %v (valid files %d, want the other one)", err, len(files))
	}
	_, err = LoadMatchers(repo, []string{"ci/missing.json"})
	if err == nil || err.Error() != "ci/missing.json: file not found in the repository at this commit" {
		t.Errorf("missing file: %v", err)
	}
}

// TestRulesDocExamples keeps docs/rules.md honest: its rules file and its
// matcher file are valid.
func TestRulesDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/rules.md")
	if err != nil {
		t.Fatal(err)
	}
	block := func(lang string) string {
		_, rest, ok := strings.Cut(string(doc), "```"+lang+"\n")
		if !ok {
			t.Fatalf("no %s example in docs/rules.md", lang)
		}
		text, _, _ := strings.Cut(rest, "```")
		return text
	}
	rules, err := ParseRules(RulesFile, []byte(block("yaml")))
	if err != nil || len(rules) != 4 {
		t.Errorf("docs rules example: %d rules, %v", len(rules), err)
	}
	if _, err := triage.ParseProblemMatchers([]byte(block("json"))); err != nil {
		t.Errorf("docs matcher example: %v", err)
	}
}
