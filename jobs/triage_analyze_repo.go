package jobs

import (
	"errors"
	"fmt"

	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/triage"
)

// TriageRepoConfig is what a run's checkout says about its triage, read by
// the run worker at the run's commit and carried to the triage job in its
// arguments (triage runs after the checkout is gone). Each file is bounded
// (runner.LoadRules, runner.LoadMatchers).
type TriageRepoConfig struct {
	Rules    []triage.Rule        `json:"rules,omitempty"`    // .sentinel/rules.yml, validated
	Matchers []runner.MatcherFile `json:"matchers,omitempty"` // the files .sentinel.yml names, validated
	// Problems are configuration problems found while running, each a
	// message naming the file (and line) and what is wrong: a bad rules or
	// matcher file, a result file that is missing or cannot be parsed.
	Problems []string `json:"problems,omitempty"`
	// Workspace is the checkout's absolute directory on the runner, so
	// that paths tools print below it are placed in the repository.
	Workspace string `json:"workspace,omitempty"`
}

// maxProblems bounds the problems one run reports.
const maxProblems = 20

func (c *TriageRepoConfig) addProblem(msg string) {
	if len(c.Problems) < maxProblems {
		c.Problems = append(c.Problems, msg)
	}
}

// repoTriage is a run's triage setup: the rules and matchers to apply,
// and the problems to report.
type repoTriage struct {
	rules    *triage.RuleSet
	matchers *triage.MatcherSet
	roots    []string
	problems []string
}

// repoTriage compiles the repository's rules over the worker's (built-in)
// ones and its matchers beside the built-in ones. A rule or matcher that
// does not compile (the run worker validated them, so only a change of
// Sentinel's own rules can cause it) is reported as a problem and the
// analysis goes on without it: a bad file never costs the triage.
func (w *TriageAnalyzeWorker) repoTriage(c *TriageRepoConfig) repoTriage {
	rt := repoTriage{rules: w.Rules, matchers: triage.DefaultMatchers()}
	if c == nil {
		return rt
	}
	rt.problems = append(rt.problems, c.Problems...)
	if c.Workspace != "" {
		rt.roots = []string{c.Workspace}
	}
	if len(c.Rules) > 0 {
		base := triage.BuiltinRules()
		if w.Rules != nil {
			base = w.Rules.Rules()
		}
		rs, err := compileRepoRules(base, c.Rules)
		if err != nil {
			rt.problems = append(rt.problems, fmt.Sprintf("%s: %v; triage used the built-in rules", runner.RulesFile, err))
		} else {
			rt.rules = rs
		}
	}
	var user []*triage.Matcher
	for _, f := range c.Matchers {
		ms, err := triage.ParseProblemMatchers([]byte(f.JSON))
		if err != nil {
			var me *triage.MatcherError
			if errors.As(err, &me) && me.Line > 0 {
				rt.problems = append(rt.problems, fmt.Sprintf("%s line %d: %s", f.Path, me.Line, me.Msg))
			} else {
				rt.problems = append(rt.problems, fmt.Sprintf("%s: %v", f.Path, err))
			}
			continue
		}
		user = append(user, ms...)
	}
	rt.matchers = rt.matchers.WithUser(user)
	return rt
}

func compileRepoRules(base, repo []triage.Rule) (*triage.RuleSet, error) {
	merged, err := triage.MergeRules(base, repo)
	if err != nil {
		return nil, err
	}
	return triage.CompileRules(merged)
}
