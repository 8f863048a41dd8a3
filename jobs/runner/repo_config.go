package runner

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sentinel-ci/sentinel/triage"
)

// RulesFile is where a repository keeps its own triage rules.
const RulesFile = ".sentinel/rules.yml"

// maxMatcherFiles bounds the matchers: key of .sentinel.yml.
const maxMatcherFiles = 16

// maxRepoConfigFile bounds each rules or matcher file read from a checkout,
// maxMatcherBytes all matcher files together: they travel in a job's args.
const (
	maxRepoConfigFile = 256 << 10
	maxMatcherBytes   = 1 << 20
)

// checkMatcherPaths validates the matchers: list: repository paths, inside
// the repository, at most maxMatcherFiles.
func checkMatcherPaths(doc *yaml.Node, paths []string) error {
	if len(paths) > maxMatcherFiles {
		return &ConfigError{Line: lineOf(doc, "matchers"), Msg: fmt.Sprintf("matchers: at most %d files", maxMatcherFiles)}
	}
	seen := map[string]bool{}
	for i, p := range paths {
		at := lineOf(doc, "matchers", i)
		clean := path.Clean(strings.TrimSpace(p))
		switch {
		case strings.TrimSpace(p) == "":
			return &ConfigError{Line: at, Msg: "matchers: empty path"}
		case path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(p, `\`):
			return &ConfigError{Line: at, Msg: fmt.Sprintf("matchers: %q must be a path relative to the repository root, inside it, with / separators", p)}
		case seen[clean]:
			return &ConfigError{Line: at, Msg: fmt.Sprintf("matchers: %q is listed twice", p)}
		}
		seen[clean] = true
	}
	return nil
}

// MatcherFile is a problem-matcher file read from the checkout.
type MatcherFile struct {
	Path string `json:"path"`
	JSON string `json:"json"`
}

// LoadMatchers reads and validates the problem-matcher files the pipeline
// names. Each file that is missing or invalid is a *ConfigError naming it
// (and its line when known), joined in the error; the valid files are
// returned whatever the others hold.
func LoadMatchers(repo fs.FS, paths []string) ([]MatcherFile, error) {
	var out []MatcherFile
	var errs []error
	total := 0
	for _, p := range paths {
		p = path.Clean(strings.TrimSpace(p))
		data, err := readRepoFile(repo, p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if total += len(data); total > maxMatcherBytes {
			errs = append(errs, &ConfigError{File: p, Msg: fmt.Sprintf("the matcher files together are larger than %d KiB", maxMatcherBytes>>10)})
			continue
		}
		if _, err := triage.ParseProblemMatchers(data); err != nil {
			var me *triage.MatcherError
			if errors.As(err, &me) {
				errs = append(errs, &ConfigError{File: p, Line: me.Line, Msg: me.Msg})
			} else {
				errs = append(errs, &ConfigError{File: p, Msg: err.Error()})
			}
			continue
		}
		out = append(out, MatcherFile{Path: p, JSON: string(data)})
	}
	return out, errors.Join(errs...)
}

// readRepoFile reads a small configuration file of the checkout; a
// missing, oversized or unreadable one is a *ConfigError naming it.
func readRepoFile(repo fs.FS, name string) ([]byte, error) {
	f, err := repo.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &ConfigError{File: name, Msg: "file not found in the repository at this commit"}
	}
	if err != nil {
		return nil, &ConfigError{File: name, Msg: err.Error()}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRepoConfigFile+1))
	if err != nil {
		return nil, &ConfigError{File: name, Msg: err.Error()}
	}
	if len(data) > maxRepoConfigFile {
		return nil, &ConfigError{File: name, Msg: fmt.Sprintf("file is larger than %d KiB", maxRepoConfigFile>>10)}
	}
	return data, nil
}

// LoadRules reads the repository's rules file (RulesFile), nil when it has
// none. Problems are a *ConfigError with the file, line and what is wrong;
// see ParseRules.
func LoadRules(repo fs.FS) ([]triage.Rule, error) {
	if _, err := fs.Stat(repo, RulesFile); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	data, err := readRepoFile(repo, RulesFile)
	if err != nil {
		return nil, err
	}
	return ParseRules(RulesFile, data)
}

// ParseRules decodes a rules file: a YAML list of rules, or a mapping with
// a rules: key holding one. Keys are those of triage.Rule; unknown keys,
// wrong types and rules that would not merge with the built-in ones (bad
// pattern, unknown category, a new rule without pattern, title or
// confidence, an id used twice) are a *ConfigError naming file and line.
func ParseRules(file string, data []byte) ([]triage.Rule, error) {
	fail := func(err error) error {
		var ce *ConfigError
		if errors.As(yamlError(err), &ce) {
			ce.File = file
			return ce
		}
		return err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fail(err)
	}
	if len(root.Content) == 0 {
		return nil, nil // an empty file: no rules
	}
	list := root.Content[0]
	wrapped := list.Kind == yaml.MappingNode
	if wrapped {
		list = nil
		doc := root.Content[0]
		for i := 0; i+1 < len(doc.Content); i += 2 {
			if doc.Content[i].Value != "rules" {
				return nil, &ConfigError{File: file, Line: doc.Content[i].Line, Msg: fmt.Sprintf("unknown key %q: the file is a list of rules, or a rules: key holding one", doc.Content[i].Value)}
			}
			list = doc.Content[i+1]
		}
		if list == nil {
			return nil, &ConfigError{File: file, Line: doc.Line, Msg: "no rules: key"}
		}
	}
	if list.Kind != yaml.SequenceNode {
		return nil, &ConfigError{File: file, Line: list.Line, Msg: "want a list of rules"}
	}
	var doc struct {
		Rules []triage.Rule `yaml:"rules"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var err error
	if wrapped {
		err = dec.Decode(&doc)
	} else {
		err = dec.Decode(&doc.Rules)
	}
	if err != nil {
		return nil, fail(err)
	}
	builtin := triage.BuiltinRules()
	for i, r := range doc.Rules {
		line := list.Content[i].Line
		if _, err := triage.MergeRules(builtin, []triage.Rule{r}); err != nil {
			return nil, &ConfigError{File: file, Line: line, Msg: err.Error()}
		}
		for _, prev := range doc.Rules[:i] {
			if prev.ID == r.ID {
				return nil, &ConfigError{File: file, Line: line, Msg: fmt.Sprintf("rule %q is defined twice", r.ID)}
			}
		}
	}
	return doc.Rules, nil
}
