package jobs

import (
	"encoding/json"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// Annotations makes one annotation per failure that has a file and a line
// inside the repository: level failure, or warning for a flaky test; title
// and message from triage, within GitHub's limits; paths come from paths.
// Then one per diagnostic stored with the failures (error → failure,
// warning, notice), but none at a failure's own line.
func Annotations(fs []store.ReportFailure, paths PathResolver) []*github.CheckRunAnnotation {
	var out []*github.CheckRunAnnotation
	for _, f := range fs {
		if f.Line < 1 {
			continue
		}
		p, ok := paths.Resolve(f)
		if !ok {
			continue
		}
		level := "failure"
		if f.Flaky {
			level = "warning"
		}
		title := string(f.Category) + ": " + f.Title
		if f.TestName != "" {
			title = f.TestName + " (" + string(f.Category) + ")"
		}
		msg := f.Title
		if f.Message != "" && f.Message != f.Title {
			msg += "\n\n" + f.Message
		}
		if f.Flaky {
			msg = "Known flaky test. " + msg
		}
		if f.Hint != "" {
			msg += "\n\nHint: " + f.Hint
		}
		if f.Remediation != "" {
			msg += "\n\nRemediation: " + f.Remediation
		}
		out = append(out, &github.CheckRunAnnotation{
			Path:            github.String(p),
			StartLine:       github.Int(f.Line),
			EndLine:         github.Int(f.Line),
			AnnotationLevel: github.String(level),
			Title:           github.String(triage.Clip(plainText(title), maxAnnotationTitle)),
			Message:         github.String(triage.ClipBytes(plainText(msg), maxAnnotationMessage)),
		})
	}
	failureAt := make(map[string]bool, len(out))
	for _, a := range out {
		failureAt[a.GetPath()+":"+strconv.Itoa(a.GetStartLine())] = true
	}
	seen := map[diagnosticKey]bool{}
	for _, f := range fs {
		for _, d := range failureDiagnostics(f) {
			if a := diagnosticAnnotation(d, failureAt, seen); a != nil {
				out = append(out, a)
			}
		}
	}
	return out
}

// failureDiagnostics are the diagnostics stored with a failure: every one
// the matchers read in its step's log. Rows stored before they were kept
// have only those on evidence lines (see triage.Evidence.Diagnostic).
func failureDiagnostics(f store.ReportFailure) []triage.Diagnostic {
	if len(f.Diagnostics) > 0 {
		return f.Diagnostics
	}
	var items []json.RawMessage
	if len(f.Evidence) == 0 || json.Unmarshal(f.Evidence, &items) != nil {
		return nil
	}
	var out []triage.Diagnostic
	for _, it := range items {
		var e struct {
			Diagnostic *triage.Diagnostic `json:"diagnostic"`
		}
		if json.Unmarshal(it, &e) == nil && e.Diagnostic != nil {
			out = append(out, *e.Diagnostic)
		}
	}
	return out
}

// diagnosticKey is what makes two diagnostic annotations the same: steps
// that compile the same code print the same errors.
type diagnosticKey struct {
	path, level, message string
	line, column         int
}

// diagnosticAnnotation is the annotation of one diagnostic (see
// triage.Diagnostic) at its repository path, or nil when it has no line,
// its path leaves the repository, a failure's own annotation is at that
// line (it says more), or the same diagnostic was annotated already.
func diagnosticAnnotation(d triage.Diagnostic, failureAt map[string]bool, seen map[diagnosticKey]bool) *github.CheckRunAnnotation {
	if d.Line < 1 {
		return nil
	}
	p, ok := RepoPath(d.File, nil) // triage resolved it; this only refuses what climbs out
	if !ok || failureAt[p+":"+strconv.Itoa(d.Line)] {
		return nil
	}
	level := "failure"
	switch d.Severity {
	case "warning":
		level = "warning"
	case "notice":
		level = "notice"
	}
	k := diagnosticKey{path: p, level: level, message: d.Message, line: d.Line, column: d.Column}
	if seen[k] {
		return nil
	}
	seen[k] = true
	title := d.Owner + " " + d.Severity
	if d.Code != "" {
		title += " " + d.Code
	}
	msg := d.Message
	if msg == "" {
		msg = title
	}
	a := &github.CheckRunAnnotation{
		Path: github.String(p), StartLine: github.Int(d.Line), EndLine: github.Int(d.Line),
		AnnotationLevel: github.String(level),
		Title:           github.String(triage.Clip(plainText(title), maxAnnotationTitle)),
		Message:         github.String(triage.ClipBytes(plainText(msg), maxAnnotationMessage)),
	}
	if d.Column > 0 {
		a.StartColumn, a.EndColumn = github.Int(d.Column), github.Int(d.Column)
	}
	return a
}

// PathResolver turns the file names tools report into repository paths.
type PathResolver struct {
	Roots []string // workspace directories stripped from absolute paths
	// GoModules maps the checkout's Go modules to their directories ("" for
	// the root), as runner.FindGoModules found them. Without it the module is
	// guessed from Repository (owner/name).
	GoModules  map[string]string
	Repository string
}

// Resolve is the repository path of a failure's file. go test prints test
// files by base name, relative to the package directory; the directory is
// the test's import path below the module that holds it (the longest
// matching one of GoModules), else, for runs recorded without modules, below
// github.com/OWNER/REPO or the path segment named like the repository
// (modules are conventionally named after their repository).
func (r PathResolver) Resolve(f store.ReportFailure) (string, bool) {
	p, ok := RepoPath(f.File, r.Roots)
	if !ok || strings.Contains(p, "/") || f.TestPackage == "" {
		return p, ok
	}
	if dir := r.packageDir(f.TestPackage); dir != "" {
		return RepoPath(dir+"/"+p, nil)
	}
	return p, ok
}

// packageDir is the repository directory of a Go package, "" for the root
// or when it cannot be told.
func (r PathResolver) packageDir(pkg string) string {
	if len(r.GoModules) > 0 {
		dir, _ := triage.Paths{GoModules: r.GoModules}.PackageDir(pkg)
		return dir
	}
	if r.Repository == "" {
		return ""
	}
	lower := strings.ToLower(pkg)
	if m := strings.ToLower("github.com/" + r.Repository); lower == m {
		return ""
	} else if strings.HasPrefix(lower, m+"/") {
		return pkg[len(m)+1:]
	}
	_, name, _ := strings.Cut(r.Repository, "/")
	segs := strings.Split(pkg, "/")
	for i := 1; i < len(segs); i++ { // segs[0] is the host
		if !strings.EqualFold(segs[i], name) {
			continue
		}
		rest := segs[i+1:]
		if len(rest) > 0 && isMajorVersion(rest[0]) {
			rest = rest[1:]
		}
		return strings.Join(rest, "/")
	}
	return ""
}

// isMajorVersion reports whether seg is a module major-version suffix (v2, v3…).
func isMajorVersion(seg string) bool {
	if len(seg) < 2 || seg[0] != 'v' {
		return false
	}
	n, err := strconv.Atoi(seg[1:])
	return err == nil && n >= 2
}

// RepoPath turns a file name reported by a tool into a path relative to the
// repository root, as annotations need: absolute paths must lie under one
// of roots (the workspace), and nothing may climb out of the repository.
func RepoPath(file string, roots []string) (string, bool) {
	file = strings.TrimSpace(strings.ReplaceAll(file, `\`, "/"))
	if file == "" {
		return "", false
	}
	if strings.HasPrefix(file, "/") {
		clean := path.Clean(file)
		found := false
		for _, root := range roots {
			root = strings.TrimSuffix(path.Clean(strings.ReplaceAll(root, `\`, "/")), "/")
			if root == "" || root == "." {
				continue
			}
			if rel, ok := strings.CutPrefix(clean, root+"/"); ok {
				file, found = rel, true
				break
			}
		}
		if !found {
			return "", false
		}
	}
	clean := path.Clean(file)
	if clean == "." || clean == ".." || strings.HasPrefix(clean, "../") || strings.HasPrefix(clean, "/") {
		return "", false
	}
	return clean, true
}

// AnnotationBatches splits annotations into GitHub's at-most-50 per request.
func AnnotationBatches(anns []*github.CheckRunAnnotation) [][]*github.CheckRunAnnotation {
	var out [][]*github.CheckRunAnnotation
	for len(anns) > 0 {
		n := min(len(anns), maxAnnotationsPerUpdate)
		out = append(out, anns[:n])
		anns = anns[n:]
	}
	return out
}

// configErrorRe matches a runner.ConfigError's message: "FILE line N: problem".
var configErrorRe = regexp.MustCompile(`^(\S+) line (\d+): (.+)`)

// configAnnotation points at the line of the pipeline file (or go.mod) that
// failed a run before any step ran, so the pull request shows it in place.
func configAnnotation(run store.Run) *github.CheckRunAnnotation {
	m := configErrorRe.FindStringSubmatch(triage.FirstLine(run.Error))
	if m == nil {
		return nil
	}
	line, err := strconv.Atoi(m[2])
	p, ok := RepoPath(m[1], nil)
	if err != nil || line < 1 || !ok {
		return nil
	}
	return &github.CheckRunAnnotation{
		Path: github.String(p), StartLine: github.Int(line), EndLine: github.Int(line),
		AnnotationLevel: github.String("failure"),
		Title:           github.String(triage.Clip("Pipeline configuration error", maxAnnotationTitle)),
		Message:         github.String(triage.ClipBytes(m[3], maxAnnotationMessage)),
	}
}

// terminalEscape matches ANSI escape sequences (CSI such as colours, OSC
// such as titles and links, and two-byte escapes) that test output carries
// into failure titles and messages; GitHub shows them as raw bytes.
var terminalEscape = regexp.MustCompile(`\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]`)

// plainText removes terminal escapes and the control characters other than
// newline and tab from s, for check run titles and annotations.
func plainText(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	s = terminalEscape.ReplaceAllString(s, "")
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return -1
		}
		return r
	}, s)
}

func isControl(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f }
