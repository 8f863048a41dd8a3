package runner

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
)

// ErrNoPipeline means the repository has neither a pipeline file nor a
// build file Sentinel recognises.
var ErrNoPipeline = errors.New("no " + PipelineFile + " and no recognised build file (go.mod, package.json, pyproject.toml, requirements.txt, Cargo.toml, pom.xml)")

// LoadPipeline reads .sentinel.yml from the checkout, or detects the
// ecosystem when there is none. Errors are *ConfigError or ErrNoPipeline.
func LoadPipeline(repo fs.FS) (*Pipeline, error) {
	f, err := repo.Open(PipelineFile)
	if err == nil {
		defer f.Close()
		return ParsePipeline(f)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open %s: %w", PipelineFile, err)
	}
	return Detect(repo)
}

// Detect builds the usual pipeline for the repository's ecosystem, with test
// results in a machine-readable form. The first build file found wins, in
// the order go.mod (or go.work), Cargo.toml, pom.xml, package.json,
// pyproject.toml, requirements.txt, then Go modules below the root. A
// repository with Go files and no go.mod at all is a *ConfigError.
func Detect(repo fs.FS) (*Pipeline, error) {
	switch {
	case exists(repo, "go.work"), exists(repo, "go.mod"):
		return detectGo(repo)
	case exists(repo, "Cargo.toml"):
		return &Pipeline{Detected: "rust", Image: "rust:1", Steps: []Step{
			{Name: "build", Run: "cargo build --all-targets"},
			// cargo has no stable machine-readable test output; triage reads the log.
			{Name: "test", Run: "cargo test"},
		}}, nil
	case exists(repo, "pom.xml"):
		return &Pipeline{Detected: "maven", Image: "maven:3-eclipse-temurin-21", Steps: []Step{
			{Name: "build", Run: "mvn -B -q -DskipTests package"},
			{Name: "test", Run: "mvn -B test", Results: "junit:**/target/surefire-reports/*.xml"},
		}}, nil
	case exists(repo, "package.json"):
		install := "npm install"
		if exists(repo, "package-lock.json") {
			install = "npm ci"
		}
		return &Pipeline{Detected: "node", Image: "node:22", Steps: []Step{
			{Name: "build", Run: install + " && npm run build --if-present"},
			// jest-junit and most reporters honour these; projects without one still run.
			{Name: "test", Run: "npm test", Results: "junit:reports/**/*.xml",
				Env: map[string]string{"JEST_JUNIT_OUTPUT_DIR": "reports", "CI": "true"}},
		}}, nil
	case exists(repo, "pyproject.toml"), exists(repo, "requirements.txt"):
		install := "pip install -q pytest"
		if exists(repo, "requirements.txt") {
			install += " -r requirements.txt"
		}
		if exists(repo, "pyproject.toml") {
			install += " -e ."
		}
		return &Pipeline{Detected: "python", Image: "python:3.12", Steps: []Step{
			{Name: "build", Run: install},
			{Name: "test", Run: "python -m pytest --junitxml=reports/junit.xml", Results: "junit:reports/junit.xml"},
		}}, nil
	}
	if mods, err := FindGoModules(repo); err == nil && len(mods) > 0 {
		return detectGo(repo)
	}
	if hasGoFiles(repo) {
		return nil, &ConfigError{File: "go.mod", Msg: "the repository has Go files but no go.mod: add one (go mod init MODULE-PATH, then go mod tidy) " +
			"or a " + PipelineFile + " that says how to build and test it"}
	}
	return nil, ErrNoPipeline
}

// maxGoFileSearch bounds the entries looked at to tell a GOPATH-style Go
// repository.
const maxGoFileSearch = 5000

// hasGoFiles reports whether the repository holds .go files where the go
// command would build them.
func hasGoFiles(repo fs.FS) bool {
	found, seen := false, 0
	errStop := errors.New("stop")
	_ = fs.WalkDir(repo, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if seen++; seen > maxGoFileSearch {
			return errStop
		}
		if d.IsDir() {
			if name := d.Name(); p != "." && (name == "vendor" || name == "testdata" || name == "node_modules" ||
				strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".go") {
			found = true
			return errStop
		}
		return nil
	})
	return found
}

var goDirective = regexp.MustCompile(`^go\s+(\d+)\.(\d+)(?:\.\d+)?\s*(?://.*)?$`)

// detectGo builds and tests every module of the repository: the
// workspace's when there is a go.work (./... spans its modules), else each
// go.mod's directory in turn, all of them even when one fails. The image
// comes from the go directive of the root go.mod (or go.work, or the first
// module's): "go 1.26.0" runs in golang:1.26.
func detectGo(repo fs.FS) (*Pipeline, error) {
	build, test := "go build ./...", "go test -json ./..."
	versionFile := "go.mod"
	switch {
	case exists(repo, "go.work"):
		versionFile = "go.work"
	default:
		mods, err := FindGoModules(repo)
		if err != nil {
			return nil, fmt.Errorf("find go modules: %w", err)
		}
		dirs := make([]string, 0, len(mods))
		for _, dir := range mods {
			dirs = append(dirs, dir)
		}
		sort.Strings(dirs)
		if len(dirs) > 0 && dirs[0] != "" {
			versionFile = dirs[0] + "/go.mod"
		}
		if len(dirs) > 1 || len(dirs) == 1 && dirs[0] != "" {
			build, test = eachModule(dirs, "go build ./..."), eachModule(dirs, "go test -json ./...")
		}
	}
	image, err := goImage(repo, versionFile)
	if err != nil {
		return nil, err
	}
	return &Pipeline{Detected: "go", Image: image, Steps: []Step{
		{Name: "build", Run: build},
		{Name: "test", Run: test, Results: ResultsGoTestJSON},
	}}, nil
}

// eachModule runs cmd in every module directory that holds a package
// (go test fails on a module without one) and fails if it failed in any.
// go list -e lists packages that do not build too, so a broken module is
// never skipped.
func eachModule(dirs []string, cmd string) string {
	var sb strings.Builder
	sb.WriteString("rc=0; for d in")
	for _, d := range dirs {
		if d == "" {
			d = "."
		}
		sb.WriteString(" '" + strings.ReplaceAll(d, "'", `'\''`) + "'")
	}
	sb.WriteString(`; do (cd "$d" && { [ -z "$(go list -e ./... 2>/dev/null)" ] || ` + cmd + `; }) || rc=1; done; exit $rc`)
	return sb.String()
}

// goImage reads the go directive of a go.mod or go.work file.
func goImage(repo fs.FS, name string) (string, error) {
	f, err := repo.Open(name)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", name, err)
	}
	defer f.Close()
	image := "golang:1"
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(text, "go ") && !strings.HasPrefix(text, "go\t") {
			continue
		}
		m := goDirective.FindStringSubmatch(text)
		if m == nil {
			return "", &ConfigError{File: name, Line: line, Msg: fmt.Sprintf("cannot read the go version from %q", text)}
		}
		image = "golang:" + m[1] + "." + m[2]
		break
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read %s: %w", name, err)
	}
	return image, nil
}

func exists(repo fs.FS, name string) bool {
	st, err := fs.Stat(repo, name)
	return err == nil && st.Mode().IsRegular()
}
