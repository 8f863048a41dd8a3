package triage

import (
	"path"
	"regexp"
	"strings"
)

// Paths places the file names Go tools print in the repository: absolute
// paths of the checkout (the runner's /workspace, a CI system's build
// directory, a GOPATH), paths relative to the directory go ran in, and the
// base names go test prints for a test's own lines, relative to the
// test's package. The zero value knows no checkout: it strips /workspace/
// and Roots and cannot tell a package's directory.
type Paths struct {
	// Roots are absolute directories the checkout was at; /workspace, the
	// runner's, is always one.
	Roots []string
	// Exists reports whether a repository-relative path is a file of the
	// checkout. With it, a path is resolved only to a file that exists, and
	// paths below an unknown root (GOPATH, another CI's directory) are found
	// by their longest existing tail.
	Exists func(rel string) bool
	// GoModules maps the checkout's Go modules to their directories ("" for
	// the root), to place a package's files without the checkout.
	GoModules map[string]string
}

const workspaceRoot = "/workspace"

// Resolve maps file, printed by a Go tool about package pkg (an import
// path, "" if unknown), to a repository-relative path.
func (p Paths) Resolve(file, pkg string) (string, bool) {
	file = strings.TrimSpace(strings.ReplaceAll(file, `\`, "/"))
	if file == "" || isOutsideRepo(file) {
		return "", false
	}
	if strings.HasPrefix(file, "/") || isWindowsAbs(file) {
		clean := path.Clean(file)
		for _, root := range append([]string{workspaceRoot}, p.Roots...) {
			root = strings.TrimSuffix(path.Clean(strings.ReplaceAll(root, `\`, "/")), "/")
			if root == "" || root == "." {
				continue
			}
			if rel, ok := strings.CutPrefix(clean, root+"/"); ok {
				return p.check(rel)
			}
		}
		if p.Exists == nil {
			// A file of the package itself, below a root nobody told us
			// about: its directory ends with the package's.
			if dir, ok := p.guessPackageDir(pkg); ok && dir != "" && strings.HasSuffix(path.Dir(clean), "/"+dir) {
				return dir + "/" + path.Base(clean), true
			}
			return "", false
		}
		// Below a root nobody told us about: the longest tail that is a
		// file of the checkout.
		segs := strings.Split(strings.TrimPrefix(clean, "/"), "/")
		for i := 1; i < len(segs); i++ {
			if rel := strings.Join(segs[i:], "/"); p.Exists(rel) {
				return rel, true
			}
		}
		return "", false
	}
	rel := path.Clean(file)
	if rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	if strings.Contains(rel, "/") {
		return p.relative(rel)
	}
	if pkg == "" {
		return p.check(rel)
	}
	if p.Exists == nil {
		if dir, ok := p.PackageDir(pkg); ok && dir != "" {
			return p.check(dir + "/" + rel)
		}
		return p.check(rel)
	}
	// A base name relative to the package directory: the package's import
	// path ends with that directory; the longest tail that holds the file
	// is the most specific.
	segs := strings.Split(pkg, "/")
	for i := 0; i < len(segs); i++ {
		if cand := strings.Join(segs[i:], "/") + "/" + rel; p.Exists(cand) {
			return cand, true
		}
	}
	return p.check(rel)
}

// relative places a relative path with directories: one below the
// directory go ran in ("internal/x/x.go"), or, built with -trimpath, one
// that starts with its module path ("github.com/o/r/internal/x/x.go").
func (p Paths) relative(rel string) (string, bool) {
	first, _, _ := strings.Cut(rel, "/")
	if !strings.Contains(first, ".") || strings.HasSuffix(first, ".go") {
		return p.check(rel)
	}
	if dir, rest, ok := p.moduleOf(rel); ok {
		return p.check(strings.TrimPrefix(dir+"/"+rest, "/"))
	}
	if p.Exists != nil {
		if p.Exists(rel) {
			return rel, true
		}
		segs := strings.Split(rel, "/")
		for i := 1; i < len(segs); i++ {
			if tail := strings.Join(segs[i:], "/"); p.Exists(tail) {
				return tail, true
			}
		}
		return "", false
	}
	// No checkout and no modules: the forges' module paths are
	// host/owner/repository, the repository's root.
	segs := strings.Split(rel, "/")
	switch segs[0] {
	case "github.com", "gitlab.com", "bitbucket.org", "codeberg.org":
		if len(segs) > 3 {
			rest := segs[3:]
			if len(rest) > 1 && isMajorVersion(rest[0]) {
				rest = rest[1:]
			}
			return p.check(strings.Join(rest, "/"))
		}
	}
	return p.check(rel)
}

// moduleOf splits a path that starts with one of GoModules into that
// module's directory and the rest.
func (p Paths) moduleOf(rel string) (dir, rest string, ok bool) {
	best := ""
	for mod, modDir := range p.GoModules {
		if strings.HasPrefix(rel, mod+"/") && len(mod) > len(best) {
			best, dir, ok = mod, modDir, true
		}
	}
	if !ok {
		return "", "", false
	}
	return dir, rel[len(best)+1:], true
}

// isMajorVersion reports a module's major-version element (v2, v3...).
func isMajorVersion(seg string) bool {
	if len(seg) < 2 || seg[0] != 'v' {
		return false
	}
	for _, c := range seg[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return seg != "v0" && seg != "v1"
}

func (p Paths) check(rel string) (string, bool) {
	rel = path.Clean(rel)
	if rel == "." || rel == ".." || strings.HasPrefix(rel, "../") || strings.HasPrefix(rel, "/") {
		return "", false
	}
	if p.Exists != nil && !p.Exists(rel) {
		return "", false
	}
	return rel, true
}

func isWindowsAbs(f string) bool {
	return len(f) > 2 && f[1] == ':' && f[2] == '/'
}

// isOutsideRepo reports files that are never the repository's: the module
// cache, the Go toolchain's own sources, generated test mains.
func isOutsideRepo(file string) bool {
	return strings.Contains(file, "/pkg/mod/") || strings.HasPrefix(file, "$GOROOT/") ||
		file == "_testmain.go" || strings.HasPrefix(file, "<autogenerated>")
}

// "\t/path/file.go:12 +0x1d" (a panic) or "      /path/file.go:12 +0x7e"
// (a race report): where the function on the line before is.
var reGoFrameLine = regexp.MustCompile(`^\s+(\S+\.go):(\d+)(?: \+0x[0-9a-f]+)?$`)

// goFrame is one frame of a Go stack: the function and where it is.
type goFrame struct {
	fn   string
	file string
	line int
}

// parseGoFrame reads a frame's location line; prev is the line before it,
// which names the function.
func parseGoFrame(line, prev string) (goFrame, bool) {
	if line == "" || (line[0] != '\t' && line[0] != ' ') {
		return goFrame{}, false
	}
	m := reGoFrameLine.FindStringSubmatch(line)
	if m == nil {
		return goFrame{}, false
	}
	fn := strings.TrimSpace(prev)
	fn = strings.TrimPrefix(fn, "created by ")
	if i := strings.Index(fn, " in goroutine "); i >= 0 {
		fn = fn[:i]
	}
	return goFrame{fn: fn, file: m[1], line: atoi(m[2])}, true
}

// isStdFrame reports a frame of the standard library or the runtime: its
// function's import path has no dot in its first element and its file
// lies in GOROOT's src directory under that import path.
func (f goFrame) isStdFrame() bool {
	if isOutsideRepo(f.file) || strings.HasPrefix(f.fn, "panic(") || f.fn == "main.main()" {
		return true
	}
	pkg := funcPackage(f.fn)
	if pkg == "" {
		return false
	}
	first, _, _ := strings.Cut(pkg, "/")
	if strings.Contains(first, ".") {
		return false
	}
	// GOROOT's sources (the runtime implements parts of other packages:
	// time.Sleep is in runtime/time.go), or with -trimpath the import path.
	return strings.Contains(f.file, "/src/"+first+"/") || strings.Contains(f.file, "/src/runtime/") ||
		strings.HasPrefix(f.file, first+"/")
}

// funcPackage is the import path of a function printed in a stack trace:
// "example.com/a/b.(*T).M(...)" is example.com/a/b.
func funcPackage(fn string) string {
	if i := strings.IndexByte(fn, '('); i > 0 && fn[i-1] != '.' {
		fn = fn[:i] // arguments
	}
	slash := strings.LastIndexByte(fn, '/')
	dot := strings.IndexByte(fn[slash+1:], '.')
	if dot < 0 {
		return ""
	}
	return fn[:slash+1+dot]
}

// guessPackageDir is PackageDir, or without modules, the directory a
// forge's module path (host/owner/repository) implies.
func (p Paths) guessPackageDir(pkg string) (string, bool) {
	if len(p.GoModules) > 0 {
		return p.PackageDir(pkg)
	}
	segs := strings.Split(pkg, "/")
	switch segs[0] {
	case "github.com", "gitlab.com", "bitbucket.org", "codeberg.org":
		if len(segs) >= 3 {
			rest := segs[3:]
			if len(rest) > 0 && isMajorVersion(rest[0]) {
				rest = rest[1:]
			}
			return strings.Join(rest, "/"), true
		}
	}
	return "", false
}

// PackageDir is the repository directory of a Go package ("" for the
// root): its import path below the module that holds it, the longest of
// GoModules that prefixes it. It reports false when no module holds it.
func (p Paths) PackageDir(pkg string) (string, bool) {
	best, dir, found := "", "", false
	for mod, modDir := range p.GoModules {
		if (pkg == mod || strings.HasPrefix(pkg, mod+"/")) && (!found || len(mod) > len(best)) {
			best, dir, found = mod, modDir, true
		}
	}
	if !found {
		return "", false
	}
	return strings.Trim(dir+"/"+strings.TrimPrefix(pkg[len(best):], "/"), "/"), true
}
