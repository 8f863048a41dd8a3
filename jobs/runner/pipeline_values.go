package runner

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// yamlDuration is a Go duration string ("20m", "1h30m") that remembers nothing
// but its value; errors carry the line.
type yamlDuration struct{ d time.Duration }

func (y *yamlDuration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &ConfigError{Line: n.Line, Msg: "wrong type: want a duration such as 10m"}
	}
	d, err := time.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil || d <= 0 {
		return &ConfigError{Line: n.Line, Msg: fmt.Sprintf("bad duration %q: want a positive duration such as 90s, 10m or 1h", n.Value)}
	}
	y.d = d
	return nil
}

// yamlBytes is a size such as 512m, 2g, 1.5GiB or a plain number of bytes.
type yamlBytes struct{ n int64 }

func (y *yamlBytes) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &ConfigError{Line: n.Line, Msg: "wrong type: want a size such as 512m or 2g"}
	}
	v, err := ParseBytes(n.Value)
	if err != nil {
		return &ConfigError{Line: n.Line, Msg: err.Error()}
	}
	y.n = v
	return nil
}

// ParseBytes reads a size such as 512m, 2g or 1.5GiB (binary units) or a plain
// number of bytes; the pipeline file and the server settings share it.
func ParseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "ib"), "b")
	mult := int64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		case 't':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:len(t)-1]
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f <= 0 || f*float64(mult) > 1<<50 {
		return 0, fmt.Errorf("bad size %q: want a positive size such as 512m or 2g", s)
	}
	return int64(f * float64(mult)), nil
}

// yamlCPUs is a number of CPUs, fractional allowed, stored as nano-CPUs.
type yamlCPUs struct{ n int64 }

func (y *yamlCPUs) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseCPUs(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		return &ConfigError{Line: n.Line, Msg: fmt.Sprintf("bad cpus %q: want a positive number such as 2 or 0.5", n.Value)}
	}
	y.n = v
	return nil
}

// checkGlob validates a results glob: relative, inside the workspace, and
// well-formed for path.Match in every segment.
func checkGlob(g string) error {
	if g == "" {
		return errors.New("empty glob after junit:")
	}
	if path.IsAbs(g) || strings.HasPrefix(g, "../") || strings.Contains(g, "/../") || g == ".." {
		return fmt.Errorf("glob %q must be relative to the repository and stay inside it", g)
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

// GlobFiles lists the regular files under fsys matching g, where "**" stands
// for any number of directories (including none).
func GlobFiles(fsys fs.FS, g string) ([]string, error) {
	if err := checkGlob(g); err != nil {
		return nil, err
	}
	pattern := strings.Split(path.Clean(g), "/")
	var out []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable directories hold no results we can read
		}
		if d.IsDir() && d.Name() == ".git" {
			return fs.SkipDir
		}
		if !d.Type().IsRegular() || p == "." {
			return nil
		}
		if matchSegments(pattern, strings.Split(p, "/")) {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

func matchSegments(pattern, name []string) bool {
	if len(pattern) == 0 {
		return len(name) == 0
	}
	if pattern[0] == "**" {
		for i := 0; i <= len(name); i++ {
			if matchSegments(pattern[1:], name[i:]) {
				return true
			}
		}
		return false
	}
	if len(name) == 0 {
		return false
	}
	ok, _ := path.Match(pattern[0], name[0])
	return ok && matchSegments(pattern[1:], name[1:])
}
