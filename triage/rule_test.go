package triage

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBuiltinRulesAreValidAndPrefiltered(t *testing.T) {
	t.Parallel()
	rs, err := CompileRules(BuiltinRules())
	if err != nil {
		t.Fatal(err)
	}
	// A rule without a literal runs its expression on every line and
	// would cost the scan its speed.
	if u := rs.Unanchored(); len(u) != 0 {
		t.Errorf("built-in rules without a required literal: %v", u)
	}
	seen := map[Category]bool{}
	for _, r := range BuiltinRules() {
		seen[r.Category] = true
	}
	for _, c := range Categories {
		if !seen[c] {
			t.Errorf("no built-in rule for category %s", c)
		}
	}
}

func TestRuleValidate(t *testing.T) {
	t.Parallel()
	ok := Rule{ID: "acme.flaky-db", Pattern: `db not ready`, Category: CategoryInfrastructure, Title: "DB not ready", Remediation: "wait", Confidence: 0.8}
	cases := []struct {
		name string
		edit func(*Rule)
		want string
	}{
		{"valid", func(*Rule) {}, ""},
		{"no id", func(r *Rule) { r.ID = "" }, "without id"},
		{"bad id", func(r *Rule) { r.ID = "Acme Rule" }, "id may contain"},
		{"bad pattern", func(r *Rule) { r.Pattern = "(" }, "bad pattern"},
		{"bad category", func(r *Rule) { r.Category = "flaky" }, "unknown category"},
		{"no title", func(r *Rule) { r.Title = "" }, "empty title"},
		{"confidence 0", func(r *Rule) { r.Confidence = 0 }, "confidence"},
		{"confidence 2", func(r *Rule) { r.Confidence = 2 }, "confidence"},
		{"noise needs no title", func(r *Rule) { r.Noise, r.Title, r.Category, r.Confidence = true, "", "", 0 }, ""},
		{"disabled needs only id", func(r *Rule) { *r = Rule{ID: "x", Disabled: true} }, ""},
	}
	for _, tc := range cases {
		r := ok
		tc.edit(&r)
		err := r.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestMergeRulesAddsOverridesAndDisables(t *testing.T) {
	t.Parallel()
	base := []Rule{
		{ID: "a", Pattern: "a", Category: CategoryTest, Title: "A", Confidence: 0.5},
		{ID: "b", Pattern: "b", Category: CategoryTest, Title: "B", Confidence: 0.5},
		{ID: "c", Pattern: "c", Category: CategoryTest, Title: "C", Confidence: 0.5},
	}
	over := []Rule{
		{ID: "b", Pattern: "bee", Category: CategoryLint, Title: "Bee", Confidence: 0.9},
		{ID: "c", Disabled: true},
		{ID: "d", Pattern: "d", Category: CategoryDisk, Title: "D", Confidence: 0.7},
	}
	got, err := MergeRules(base, over)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID+":"+r.Pattern)
	}
	if diff := cmp.Diff([]string{"a:a", "b:bee", "d:d"}, ids); diff != "" {
		t.Errorf("merged rules (-want +got):\n%s", diff)
	}
	if _, err := MergeRules(base, []Rule{over[0], over[0]}); err == nil {
		t.Error("duplicate override ids accepted")
	}
	if _, err := MergeRules(base, []Rule{{ID: "e", Pattern: "("}}); err == nil {
		t.Error("invalid override accepted")
	}
	// An override of a built-in rule may change one field only.
	got, err = MergeRules(base, []Rule{{ID: "a", Remediation: "Ask the build team."}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Rule{ID: "a", Pattern: "a", Category: CategoryTest, Title: "A", Confidence: 0.5, Remediation: "Ask the build team."}); got[0] != want {
		t.Errorf("partial override = %+v, want %+v", got[0], want)
	}
	if _, err := MergeRules(base, []Rule{{ID: "new", Remediation: "x"}}); err == nil {
		t.Error("a new rule without pattern accepted")
	}
}

func TestRepositoryRuleChangesClassification(t *testing.T) {
	t.Parallel()
	rules, err := MergeRules(BuiltinRules(), []Rule{{
		ID: "acme.license", Pattern: `license server (\S+) unreachable`, Category: CategoryInfrastructure,
		Title: "License server $1 down", Remediation: "Page the tools team.", Confidence: 0.95,
	}})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := CompileRules(rules)
	if err != nil {
		t.Fatal(err)
	}
	log := "building\nerror: license server lic-3 unreachable\nFAILED tests/test_x.py::test_y - boom\n"
	fs, err := Analyze([]StepInput{{Facts: StepFacts{ExitCode: 1}, Log: stringsReader(log)}}, Options{Rules: rs})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].Category != CategoryInfrastructure || fs[0].Title != "License server lic-3 down" || fs[0].Rule != "acme.license" {
		t.Fatalf("failures = %+v", fs)
	}
}

func TestRequiredLiterals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pattern string
		want    []string
		ok      bool
	}{
		{`No space left on device`, []string{"no space left on device"}, true},
		{`(?i)killed`, []string{"killed"}, true},
		{`foo|bar\d+`, []string{"foo", "bar"}, true},
		{`go(?:fmt|imports)`, []string{"gofmt", "goimports"}, true},
		{`_{3,} x`, []string{"___"}, true},
		{`\d+ failed|.*`, nil, false},
		{`(?i)é+`, nil, false},
	}
	for _, tc := range cases {
		got, ok := requiredLiterals(tc.pattern)
		if ok != tc.ok || !cmp.Equal(got, tc.want) {
			t.Errorf("requiredLiterals(%q) = %q, %v; want %q, %v", tc.pattern, got, ok, tc.want, tc.ok)
		}
	}
}
