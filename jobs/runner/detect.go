package runner

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
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
// the order go.mod, Cargo.toml, pom.xml, package.json, pyproject.toml,
// requirements.txt.
func Detect(repo fs.FS) (*Pipeline, error) {
	switch {
	case exists(repo, "go.mod"):
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
	return nil, ErrNoPipeline
}

var goDirective = regexp.MustCompile(`^go\s+(\d+)\.(\d+)(?:\.\d+)?\s*(?://.*)?$`)

// detectGo takes the image from go.mod's go directive: "go 1.26.0" runs in golang:1.26.
func detectGo(repo fs.FS) (*Pipeline, error) {
	f, err := repo.Open("go.mod")
	if err != nil {
		return nil, fmt.Errorf("open go.mod: %w", err)
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
			return nil, &ConfigError{File: "go.mod", Line: line, Msg: fmt.Sprintf("cannot read the go version from %q", text)}
		}
		image = "golang:" + m[1] + "." + m[2]
		break
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read go.mod: %w", err)
	}
	return &Pipeline{Detected: "go", Image: image, Steps: []Step{
		{Name: "build", Run: "go build ./..."},
		{Name: "test", Run: "go test -json ./...", Results: ResultsGoTestJSON},
	}}, nil
}

func exists(repo fs.FS, name string) bool {
	st, err := fs.Stat(repo, name)
	return err == nil && st.Mode().IsRegular()
}
