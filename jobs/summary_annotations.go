package jobs

import (
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/go-github/v62/github"

	"github.com/sentinel-ci/sentinel/store"
)

// Annotations makes one annotation per failure that has a file and a line
// inside the repository: level failure, or warning for a flaky test; title
// and message from triage, within GitHub's limits. modulePath places bare
// go test file names (see FailurePath).
func Annotations(fs []store.ReportFailure, roots []string, modulePath string) []*github.CheckRunAnnotation {
	var out []*github.CheckRunAnnotation
	for _, f := range fs {
		if f.Line < 1 {
			continue
		}
		p, ok := FailurePath(f, roots, modulePath)
		if !ok {
			continue
		}
		level := "failure"
		if f.Flaky {
			level = "warning"
		}
		title := f.Category + ": " + f.Title
		if f.TestName != "" {
			title = f.TestName + " (" + f.Category + ")"
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
			Title:           github.String(clip(title, maxAnnotationTitle)),
			Message:         github.String(clipBytes(msg, maxAnnotationMessage)),
		})
	}
	return out
}

// FailurePath is the repository path of a failure's file. go test prints
// test files by base name, relative to the package directory: when the
// failure's test package lies inside modulePath (the module at the
// repository root), the package's directory is put in front.
func FailurePath(f store.ReportFailure, roots []string, modulePath string) (string, bool) {
	p, ok := RepoPath(f.File, roots)
	if !ok || strings.Contains(p, "/") || modulePath == "" {
		return p, ok
	}
	pkg := strings.ToLower(f.TestPackage)
	mod := strings.ToLower(strings.TrimSuffix(modulePath, "/"))
	if dir, inside := strings.CutPrefix(pkg, mod+"/"); inside && dir != "" {
		// Keep the directory's own case from the import path.
		return RepoPath(f.TestPackage[len(f.TestPackage)-len(dir):]+"/"+p, nil)
	}
	return p, ok
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

// clipBytes shortens s to at most n bytes without splitting a character.
func clipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := s[:n-len("…")]
	for !utf8.ValidString(cut) {
		cut = cut[:len(cut)-1] // drop the bytes of a character the cut split
	}
	return cut + "…"
}

// configErrorRe matches a ConfigError's message: "FILE line N: problem".
var configErrorRe = regexp.MustCompile(`^(\S+) line (\d+): (.+)`)

// configAnnotation points at the line of the pipeline file (or go.mod) that
// failed a run before any step ran, so the pull request shows it in place.
func configAnnotation(run store.Run) *github.CheckRunAnnotation {
	m := configErrorRe.FindStringSubmatch(firstLine(run.Error))
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
		Title:           github.String(clip("Pipeline configuration error", maxAnnotationTitle)),
		Message:         github.String(clipBytes(m[3], maxAnnotationMessage)),
	}
}
