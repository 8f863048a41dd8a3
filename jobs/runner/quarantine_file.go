package runner

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// QuarantineFile lists tests kept from failing runs, read in addition to
// .sentinel.yml's quarantine: (so a repository without a pipeline file can
// have one). Sentinel proposes changes to it as pull requests; people may
// edit it too.
const QuarantineFile = ".sentinel/quarantine.yml"

// QuarantineEntry is one test of the quarantine file.
type QuarantineEntry struct {
	ID      string         `yaml:"id"` // "package::Name", as triage.TestID
	Owner   string         `yaml:"owner,omitempty"`
	Reason  string         `yaml:"reason,omitempty"`
	Expires QuarantineDate `yaml:"expires,omitempty"`
	Issue   int            `yaml:"issue,omitempty"` // the issue to fix the test
}

// QuarantineDate is a day (YYYY-MM-DD); the quarantine ends when it begins.
type QuarantineDate struct{ time.Time }

func (d QuarantineDate) MarshalYAML() (any, error) {
	if d.IsZero() {
		return nil, nil
	}
	return d.Format(time.DateOnly), nil
}

func (d *QuarantineDate) UnmarshalYAML(n *yaml.Node) error {
	t, err := time.Parse(time.DateOnly, n.Value)
	if err != nil {
		return fmt.Errorf("expires: %q is not a date (YYYY-MM-DD)", n.Value)
	}
	d.Time = t
	return nil
}

type quarantineDoc struct {
	Tests []QuarantineEntry `yaml:"tests"`
}

// ParseQuarantine reads a quarantine file strictly: unknown keys, entries
// without an id and an id listed twice are a *ConfigError.
func ParseQuarantine(data []byte) ([]QuarantineEntry, error) {
	if len(data) > maxRepoConfigFile {
		return nil, &ConfigError{File: QuarantineFile, Msg: fmt.Sprintf("larger than %d bytes", maxRepoConfigFile)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var doc quarantineDoc
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, &ConfigError{File: QuarantineFile, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	seen := map[string]bool{}
	for i, e := range doc.Tests {
		switch {
		case strings.TrimSpace(e.ID) == "":
			return nil, &ConfigError{File: QuarantineFile, Msg: fmt.Sprintf("tests[%d]: id is missing (package::Name)", i)}
		case seen[e.ID]:
			return nil, &ConfigError{File: QuarantineFile, Msg: fmt.Sprintf("tests[%d]: %s is listed twice", i, e.ID)}
		}
		seen[e.ID] = true
	}
	return doc.Tests, nil
}

// RenderQuarantine writes entries as a quarantine file, sorted by id so
// that a change is one hunk.
func RenderQuarantine(entries []QuarantineEntry) []byte {
	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(a, b QuarantineEntry) int { return strings.Compare(a.ID, b.ID) })
	var b bytes.Buffer
	b.WriteString("# Tests kept from failing runs while they are flaky (see docs/pipeline.md).\n")
	b.WriteString("# Sentinel proposes changes to this file as pull requests; people may edit it too.\n")
	out, err := yaml.Marshal(quarantineDoc{Tests: sorted})
	if err != nil {
		panic(err) // plain strings, ints and dates always marshal
	}
	b.Write(out)
	return b.Bytes()
}

// LoadQuarantine returns the ids of the checkout's quarantine file whose
// expiry has not passed at now; no file is no ids.
func LoadQuarantine(repo fs.FS, now time.Time) ([]string, error) {
	data, err := fs.ReadFile(repo, QuarantineFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	entries, err := ParseQuarantine(data)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if e.Expires.IsZero() || now.Before(e.Expires.Time) {
			ids = append(ids, e.ID)
		}
	}
	return ids, nil
}
