package triage

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Rule is one classification rule: a line of a step log matching Pattern
// points at Category. Rules are data: the built-in set (BuiltinRules) can be
// extended or overridden per repository (see MergeRules); the caller decodes
// .sentinel/rules.yml into []Rule with its YAML library, using the tags below.
type Rule struct {
	// ID names the rule; a repository rule with the ID of a built-in rule
	// replaces it. Lower-case letters, digits, '.', '-' and '_'.
	ID string `json:"id" yaml:"id"`
	// Pattern is an RE2 regular expression matched against each log line
	// (terminal escapes removed). Use (?i) for case-insensitive matching.
	Pattern string `json:"pattern" yaml:"pattern"`
	// Category is the cause the rule points at.
	Category Category `json:"category" yaml:"category"`
	// Title is the one-line title of a failure found by this rule. $1 or
	// ${name} expand to the pattern's capture groups.
	Title string `json:"title" yaml:"title"`
	// Hint says what most likely went wrong (optional).
	Hint string `json:"hint,omitempty" yaml:"hint,omitempty"`
	// Remediation says what a developer can do about it.
	Remediation string `json:"remediation" yaml:"remediation"`
	// Confidence in (0,1]: how sure a match makes us of the category.
	// Specific causes (disk full) score high, generic lines ("error") low.
	Confidence float64 `json:"confidence" yaml:"confidence"`
	// Noise marks lines that are consequences, never causes ("Process
	// completed with exit code 1", "see the complete log"): a line a noise
	// rule matches is never evidence. Category, Title and Confidence are
	// then not needed.
	Noise bool `json:"noise,omitempty" yaml:"noise,omitempty"`
	// Disabled turns a built-in rule off when set in an override.
	Disabled bool `json:"disabled,omitempty" yaml:"disabled,omitempty"`
}

// Validate reports the first problem with r, naming the rule.
func (r Rule) Validate() error {
	if r.ID == "" {
		return fmt.Errorf("rule without id (pattern %q)", r.Pattern)
	}
	for _, c := range r.ID {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return fmt.Errorf("rule %q: id may contain only a-z, 0-9, '.', '-' and '_'", r.ID)
		}
	}
	if r.Disabled {
		return nil
	}
	if r.Pattern == "" {
		return fmt.Errorf("rule %q: empty pattern", r.ID)
	}
	if _, err := regexp.Compile(r.Pattern); err != nil {
		return fmt.Errorf("rule %q: bad pattern: %w", r.ID, err)
	}
	if r.Noise {
		return nil
	}
	if !r.Category.Valid() {
		return fmt.Errorf("rule %q: unknown category %q", r.ID, r.Category)
	}
	if r.Title == "" {
		return fmt.Errorf("rule %q: empty title", r.ID)
	}
	if !(r.Confidence > 0 && r.Confidence <= 1) {
		return fmt.Errorf("rule %q: confidence %v is not in (0,1]", r.ID, r.Confidence)
	}
	return nil
}

// MergeRules returns base with overrides applied: a rule whose ID exists in
// base replaces it in place, taking the fields it leaves empty from the
// rule it replaces (an override may change only a remediation), a new ID is
// added at the end, and a Disabled override removes the rule. Every resulting rule is validated; duplicate
// IDs within overrides are an error.
func MergeRules(base, overrides []Rule) ([]Rule, error) {
	out := make([]Rule, 0, len(base)+len(overrides))
	index := make(map[string]int, len(base))
	for _, r := range base {
		if _, dup := index[r.ID]; dup {
			return nil, fmt.Errorf("rule %q: duplicate id", r.ID)
		}
		index[r.ID] = len(out)
		out = append(out, r)
	}
	seen := make(map[string]bool, len(overrides))
	for _, r := range overrides {
		if seen[r.ID] {
			return nil, fmt.Errorf("rule %q: duplicate id in overrides", r.ID)
		}
		seen[r.ID] = true
		i, ok := index[r.ID]
		if ok {
			r = r.over(out[i])
		}
		if err := r.Validate(); err != nil {
			return nil, err
		}
		if ok {
			out[i] = r
			continue
		}
		index[r.ID] = len(out)
		out = append(out, r)
	}
	kept := out[:0]
	for _, r := range out {
		if !r.Disabled {
			kept = append(kept, r)
		}
	}
	return kept, nil
}

// RuleSet is a compiled, immutable set of rules, safe for concurrent use.
type RuleSet struct {
	rules  []compiledRule
	pre    *prefilter
	always []int // rules with no required literal: tried on every line

	jointMu sync.Mutex
	joints  [2]jointEntry // with the built-in matchers, and with the last other set used
}

// joint is one prefilter over a rule set's variants followed by a matcher
// set's, so that a line is scanned once for both: candidates below nRule
// are rule variants (as in the rule set's own prefilter), the others
// matcher targets.
type joint struct {
	pre   *prefilter
	nRule int32
}

type jointEntry struct {
	ms *MatcherSet
	j  *joint
}

// jointWith returns the joint prefilter of rs and ms, built on first use
// (it costs as much as compiling the rules, and some MiB). Two are kept:
// the one with the built-in matchers, used for most steps, and the last
// other one (a run's own matchers serve all its steps).
func (rs *RuleSet) jointWith(ms *MatcherSet) *joint {
	rs.jointMu.Lock()
	defer rs.jointMu.Unlock()
	slot := &rs.joints[1]
	if ms == DefaultMatchers() {
		slot = &rs.joints[0]
	}
	if slot.ms == ms && slot.j != nil {
		return slot.j
	}
	vs := make([]variant, 0, len(rs.pre.variants)+len(ms.variants))
	vs = append(append(vs, rs.pre.variants...), ms.variants...)
	j := &joint{pre: newPrefilter(vs), nRule: int32(len(rs.pre.variants))}
	*slot = jointEntry{ms: ms, j: j}
	return j
}

type compiledRule struct {
	Rule
	re *regexp.Regexp
	// fixedTitle is the title of every match when Title names no group:
	// a match need not run re again to expand it.
	fixedTitle string
}

// CompileRules validates and compiles rules for AnalyzeLog and Analyze.
func CompileRules(rules []Rule) (*RuleSet, error) {
	rs := &RuleSet{}
	var variants []variant
	for _, r := range rules {
		if err := r.Validate(); err != nil {
			return nil, err
		}
		if r.Disabled {
			continue
		}
		if r.Noise {
			r.Confidence = 1
		}
		re := regexp.MustCompile(r.Pattern) // validated above
		idx := len(rs.rules)
		cr := compiledRule{Rule: r, re: re}
		if !strings.Contains(r.Title, "$") {
			cr.fixedTitle = oneLine(r.Title, maxTitleLen)
		}
		rs.rules = append(rs.rules, cr)
		vs, ok := variantsOf(r.Pattern)
		if !ok {
			rs.always = append(rs.always, idx)
			continue
		}
		for _, v := range vs {
			v.rule = idx
			variants = append(variants, v)
		}
	}
	rs.pre = newPrefilter(variants)
	return rs, nil
}

// Rules returns the rules of the set, in order.
func (rs *RuleSet) Rules() []Rule {
	out := make([]Rule, len(rs.rules))
	for i, r := range rs.rules {
		out[i] = r.Rule
	}
	return out
}

// Unanchored lists the IDs of rules without a literal the fast prefilter
// can look for; they are tried on every line and slow a scan down.
func (rs *RuleSet) Unanchored() []string {
	var ids []string
	for _, i := range rs.always {
		ids = append(ids, rs.rules[i].ID)
	}
	sort.Strings(ids)
	return ids
}

// isNoise reports whether a noise rule matches line.
func (rs *RuleSet) isNoise(line string) bool {
	for _, r := range rs.rules {
		if r.Noise && r.re.MatchString(line) {
			return true
		}
	}
	return false
}

// over fills the fields r leaves unset from base, the rule it overrides.
func (r Rule) over(base Rule) Rule {
	if r.Pattern == "" {
		r.Pattern = base.Pattern
	}
	if r.Category == "" {
		r.Category = base.Category
	}
	if r.Title == "" {
		r.Title = base.Title
	}
	if r.Hint == "" {
		r.Hint = base.Hint
	}
	if r.Remediation == "" {
		r.Remediation = base.Remediation
	}
	if r.Confidence == 0 {
		r.Confidence = base.Confidence
	}
	r.Noise = r.Noise || base.Noise
	return r
}
