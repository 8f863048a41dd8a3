package triage

import (
	"regexp"
	"strings"
)

// CodeOwners is a parsed CODEOWNERS file: rules in file order, the last
// matching rule of a path deciding its owners, as GitHub reads it.
type CodeOwners struct {
	rules []ownerRule
}

type ownerRule struct {
	re     *regexp.Regexp
	owners []string
}

// ParseCodeOwners reads a CODEOWNERS file. Patterns follow GitHub's
// gitignore-like rules: a leading or inner slash anchors a pattern to the
// repository root, otherwise it matches at any depth; a pattern matches a
// file or a directory and everything below it; * and ? stay within a path
// segment, ** crosses segments. Lines it cannot read are skipped, as
// GitHub skips them.
func ParseCodeOwners(data string) CodeOwners {
	var c CodeOwners
	for _, line := range strings.Split(data, "\n") {
		if i := strings.Index(line, "#"); i >= 0 && (i == 0 || line[i-1] != '\\') {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		re, err := regexp.Compile(ownerPattern(f[0]))
		if err != nil {
			continue
		}
		c.rules = append(c.rules, ownerRule{re: re, owners: f[1:]})
	}
	return c
}

// ownerPattern turns a CODEOWNERS pattern into a regular expression over
// repository-relative paths.
func ownerPattern(p string) string {
	anchored := strings.HasPrefix(p, "/") || strings.Contains(strings.TrimSuffix(p, "/"), "/")
	p = strings.TrimSuffix(strings.TrimPrefix(p, "/"), "/")
	var b strings.Builder
	if anchored {
		b.WriteString("^")
	} else {
		b.WriteString("^(?:.*/)?")
	}
	for i := 0; i < len(p); i++ {
		switch {
		case strings.HasPrefix(p[i:], "**/"):
			b.WriteString("(?:.*/)?")
			i += 2
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i++
		case p[i] == '*':
			b.WriteString("[^/]*")
		case p[i] == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	b.WriteString("(?:/.*)?$")
	return b.String()
}

// Owners returns the owners of a repository-relative path: those of the
// last rule that matches it, none when no rule does (or the last matching
// rule names nobody, which GitHub reads as "no owner").
func (c CodeOwners) Owners(path string) []string {
	path = strings.TrimPrefix(path, "/")
	for i := len(c.rules) - 1; i >= 0; i-- {
		if c.rules[i].re.MatchString(path) {
			return c.rules[i].owners
		}
	}
	return nil
}

// CodeOwnersPaths are where GitHub looks for the file, in its order.
var CodeOwnersPaths = []string{".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"}
