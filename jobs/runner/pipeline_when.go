package runner

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// When filters a pipeline or a step: each list that is set must match
// (branches by glob, events by name, at least one changed path by glob).
// An empty When matches everything.
type When struct {
	Branches []string
	Events   []string
	Paths    []string
}

// Facts are what a run's filters are decided on.
type Facts struct {
	Branch string
	Event  string // push, pull_request, api…
	// Changed are the paths the push or pull request changed; ChangedKnown
	// is false when they cannot be told (a new branch, a force-push, a run
	// started by hand), and then a paths filter lets the step run.
	Changed      []string
	ChangedKnown bool
}

// Events a when: filter may name.
var whenEvents = []string{"push", "pull_request", "api"}

type rawWhen struct {
	Branches []string `yaml:"branches"`
	Events   []string `yaml:"events"`
	Paths    []string `yaml:"paths"`
}

// NeedsChanges reports whether deciding w needs the changed paths.
func (w When) NeedsChanges() bool { return len(w.Paths) > 0 }

// Match decides w on f; when it does not match, why says which filter
// excluded the run, for the step's row and the check run.
func (w When) Match(f Facts) (ok bool, why string) {
	if len(w.Branches) > 0 && !slices.ContainsFunc(w.Branches, func(g string) bool { return matchGlob(g, f.Branch) }) {
		if f.Branch == "" {
			return false, fmt.Sprintf("when.branches %v: the run has no branch", w.Branches)
		}
		return false, fmt.Sprintf("when.branches %v does not match branch %s", w.Branches, f.Branch)
	}
	if len(w.Events) > 0 && !slices.Contains(w.Events, f.Event) {
		return false, fmt.Sprintf("when.events %v does not include %s", w.Events, f.Event)
	}
	if len(w.Paths) > 0 && f.ChangedKnown {
		for _, p := range f.Changed {
			if slices.ContainsFunc(w.Paths, func(g string) bool { return matchGlob(g, p) }) {
				return true, ""
			}
		}
		return false, fmt.Sprintf("when.paths %v matches none of the %d changed paths", w.Paths, len(f.Changed))
	}
	return true, ""
}

// matchGlob matches a slash-separated name against a glob where * stays
// within a segment and ** spans any number of segments.
func matchGlob(g, name string) bool {
	return matchSegments(strings.Split(g, "/"), strings.Split(name, "/"))
}

// parseWhen validates a when: mapping found at path in the document.
func parseWhen(doc *yaml.Node, raw rawWhen, path ...any) (When, error) {
	at := func(key string, j int) int { return lineOf(doc, append(append([]any{}, path...), key, j)...) }
	w := When{}
	for j, g := range raw.Branches {
		g = strings.TrimSpace(g)
		if err := checkNameGlob(g); err != nil {
			return w, &ConfigError{Line: at("branches", j), Msg: "when.branches: " + err.Error()}
		}
		w.Branches = append(w.Branches, g)
	}
	for j, e := range raw.Events {
		e = strings.TrimSpace(e)
		if !slices.Contains(whenEvents, e) {
			return w, &ConfigError{Line: at("events", j), Msg: fmt.Sprintf("when.events: %q is not one of %s", e, strings.Join(whenEvents, ", "))}
		}
		w.Events = append(w.Events, e)
	}
	for j, g := range raw.Paths {
		g = strings.TrimSpace(g)
		if err := checkGlob(g); err != nil {
			return w, &ConfigError{Line: at("paths", j), Msg: "when.paths: " + strings.Replace(err.Error(), "empty glob after junit:", "empty glob", 1)}
		}
		w.Paths = append(w.Paths, g)
	}
	return w, nil
}

// checkNameGlob validates a branch glob: well-formed for path.Match in
// every segment.
func checkNameGlob(g string) error {
	if g == "" {
		return fmt.Errorf("empty glob")
	}
	for _, seg := range strings.Split(g, "/") {
		if seg == "**" {
			continue
		}
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("bad glob %q: %v", g, err)
		}
	}
	return nil
}
