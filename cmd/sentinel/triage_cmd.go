package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/jobs/runner"
	"github.com/sentinel-ci/sentinel/triage"
)

// triageSchema names the layout of `sentinel triage --json` output. It is
// documented in triage/README.md and changes only by a new version.
const triageSchema = "sentinel.triage/v1"

// triageOutput is the --json document: one entry per file, in argument order.
type triageOutput struct {
	Schema string           `json:"schema"`
	Files  []triageFileJSON `json:"files"`
}

type triageFileJSON struct {
	File     string           `json:"file"`
	Format   triage.Format    `json:"format"`
	Error    string           `json:"error,omitempty"`
	Warnings []string         `json:"warnings,omitempty"` // what the caps on results left out
	Lines    int64            `json:"lines,omitempty"`
	Totals   *triage.Counts   `json:"totals,omitempty"`
	Failures []triage.Failure `json:"failures"`
}

// runTriage implements `sentinel triage [--json] FILE...`: it detects each
// file's format by content (go test -json, JUnit XML or a plain log; "-" is
// stdin, shown as "-"), runs
// the triage engine and prints the failures. Exit status: 0 when every file
// was analysed (failures found or not), 1 when a file could not be read or
// parsed, 2 for bad usage.
func runTriage(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("triage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print a JSON document (schema "+triageSchema+") instead of text")
	baselinePath := fs.String("baseline", "", "a log of the same step when it passed: lines it also has are demoted")
	checkout := fs.String("checkout", "", "the repository's checkout, to place the files tools print at their repository paths")
	rulesPath := fs.String("rules", "", "a rules file in the format of .sentinel/rules.yml (docs/rules.md), applied over the built-in rules")
	var matcherPaths []string
	fs.Func("matchers", "a problem-matcher file in GitHub Actions' JSON format, used beside the built-in matchers (repeatable)", func(p string) error {
		matcherPaths = append(matcherPaths, p)
		return nil
	})
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sentinel triage [--json] [--baseline PASS.log] [--checkout DIR] [--rules FILE] [--matchers FILE]... FILE...")
		fmt.Fprintln(stderr, "Classify the failures in build logs, go test -json streams or JUnit XML files.")
		fmt.Fprintln(stderr, "A FILE of - reads standard input (e.g. go test -json ./... | sentinel triage -).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	if i := slices.Index(fs.Args(), "-"); i >= 0 && slices.Contains(fs.Args()[i+1:], "-") {
		fmt.Fprintln(stderr, "sentinel triage: - (standard input) can be given once")
		return 2
	}
	var baseline triage.Baseline
	if *baselinePath != "" {
		b, err := readBaseline(*baselinePath)
		if err != nil {
			fmt.Fprintln(stderr, "sentinel triage:", err)
			return 1
		}
		baseline = b
	}
	out := triageOutput{Schema: triageSchema, Files: []triageFileJSON{}}
	status := 0
	var opts triage.Options
	if *checkout != "" {
		opts.Paths = checkoutPaths(*checkout)
	}
	if err := loadTriageConfig(&opts, *rulesPath, matcherPaths); err != nil {
		fmt.Fprintln(stderr, "sentinel triage:", err)
		return 1
	}
	caps, err := resultCapsFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, "sentinel triage:", err)
		return 2
	}
	for _, path := range fs.Args() {
		res := triageFile(path, stdin, baseline, opts, caps)
		if res.Error != "" {
			status = 1
		}
		out.Files = append(out.Files, res)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			fmt.Fprintln(stderr, "sentinel triage:", err)
			return 1
		}
		return status
	}
	w := bufio.NewWriter(stdout)
	for i, f := range out.Files {
		if i > 0 {
			fmt.Fprintln(w)
		}
		writeTriageText(w, f)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(stderr, "sentinel triage:", err)
		return 1
	}
	return status
}

// loadTriageConfig applies a rules file and problem-matcher files as the
// triage worker applies a repository's: rules over the built-in ones,
// matchers beside the built-in ones. Errors name the file and line.
func loadTriageConfig(opts *triage.Options, rulesPath string, matcherPaths []string) error {
	if rulesPath != "" {
		data, err := os.ReadFile(rulesPath)
		if err != nil {
			return err
		}
		repo, err := runner.ParseRules(rulesPath, data)
		if err != nil {
			return err
		}
		merged, err := triage.MergeRules(triage.BuiltinRules(), repo)
		if err != nil {
			return fmt.Errorf("%s: %w", rulesPath, err)
		}
		if opts.Rules, err = triage.CompileRules(merged); err != nil {
			return fmt.Errorf("%s: %w", rulesPath, err)
		}
	}
	var user []*triage.Matcher
	for _, p := range matcherPaths {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		ms, err := triage.ParseProblemMatchers(data)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		user = append(user, ms...)
	}
	opts.Matchers = triage.DefaultMatchers().WithUser(user)
	return nil
}

// readBaseline hashes the lines of a passing log the way the triage worker
// hashes the last successful log of a step.
func readBaseline(path string) (triage.Baseline, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return triage.BuildBaseline(f, nil, 0)
}

// triageFile analyses one file, or stdin when path is "-"; errors are
// reported in the result. Results are read under the caps of a step's
// (caps): past the size cap a JUnit file is an error and a go test -json
// stream is analysed as a log only; past the cap on test cases the failing
// ones are kept first. Both say so in the result's warnings.
func triageFile(path string, stdin io.Reader, baseline triage.Baseline, opts triage.Options, caps jobs.ResultCaps) (res triageFileJSON) {
	res = triageFileJSON{File: path, Failures: []triage.Failure{}}
	var f *os.File
	var err error
	if path == "-" {
		// Spooled: the analysis reads a go test -json stream or a plain log twice.
		f, err = spool(stdin)
		if err == nil {
			defer os.Remove(f.Name())
		}
	} else {
		f, err = os.Open(path)
	}
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64*1024)
	head, err := br.Peek(8 * 1024)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		res.Error = err.Error()
		return res
	}
	res.Format = triage.DetectFormat(head)
	err = nil
	step := triage.StepInput{Facts: triage.StepFacts{Step: path}, Baseline: baseline}
	oversize := false
	if res.Format == triage.FormatJUnit || res.Format == triage.FormatGoTestJSON {
		if st, err := f.Stat(); err == nil && st.Size() > caps.FileBytes {
			oversize = true
			if res.Format == triage.FormatJUnit {
				res.Error = jobs.OversizeWarning(path, st.Size(), caps.FileBytes)
				return res
			}
			res.Warnings = append(res.Warnings, jobs.OversizeWarning(path, st.Size(), caps.FileBytes))
		}
	}
	switch {
	case oversize:
		// A go test -json stream is also the log: scan it as one.
		step.Log = br
	case res.Format == triage.FormatJUnit, res.Format == triage.FormatGoTestJSON:
		step.Results, err = jobs.ParseResults(br, res.Format, caps.Tests)
		if w := jobs.CapWarning(step.Results); w != "" {
			res.Warnings = append(res.Warnings, w)
		}
		if err == nil && res.Format == triage.FormatGoTestJSON {
			// The stream is also the log: rewind to find evidence lines.
			if _, err = f.Seek(0, io.SeekStart); err == nil {
				step.Log = bufio.NewReaderSize(f, 64*1024)
			}
		}
	default:
		step.Log = br
		defer func() {
			// A plain go test log holds results too: count them.
			if _, err := f.Seek(0, io.SeekStart); err == nil && res.Error == "" {
				if r, err := triage.ParseGoTestText(bufio.NewReaderSize(f, 64*1024)); err == nil {
					if t := r.Totals(); t.Tests > 0 || t.Stopped > 0 {
						res.Totals = &t
					}
				}
			}
		}()
	}
	if err != nil {
		res.Error = err.Error()
		return res
	}
	counter := &lineCounter{}
	if step.Log != nil {
		step.Log = io.TeeReader(step.Log, counter)
	}
	failures, err := triage.Analyze([]triage.StepInput{step}, opts)
	if err != nil {
		res.Error = err.Error()
	}
	for i := range failures {
		failures[i].Step = ""
	}
	res.Failures = append(res.Failures, failures...)
	res.Lines = counter.lines
	if step.Results != nil {
		t := step.Results.Totals()
		res.Totals = &t
	}
	return res
}

// lineCounter counts the lines of a log as the engine reads it.
type lineCounter struct {
	lines   int64
	partial bool
}

func (c *lineCounter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if !c.partial {
				c.lines++ // a last line without a newline
			}
			c.partial = true
			break
		}
		if !c.partial {
			c.lines++
		}
		c.partial = false
		p = p[i+1:]
	}
	return n, nil
}

func writeTriageText(w io.Writer, f triageFileJSON) {
	fmt.Fprintf(w, "%s (%s)\n", f.File, f.Format)
	if f.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", f.Error)
		return
	}
	for _, warning := range f.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warning)
	}
	if t := f.Totals; t != nil {
		fmt.Fprintf(w, "  tests: %d (%d passed, %d failed, %d errored, %d skipped, %d incomplete; %d runs)\n",
			t.Tests, t.Passed, t.Failed, t.Errored, t.Skipped, t.Incomplete, t.Runs)
		if t.Stopped > 0 {
			fmt.Fprintf(w, "  stopped: %d package(s) ended by a panic or a timeout; their later tests did not run\n", t.Stopped)
		}
	}
	if len(f.Failures) == 0 {
		fmt.Fprintln(w, "  no failures found")
		return
	}
	for i, fl := range f.Failures {
		fmt.Fprintf(w, "  %d. [%s] %s\n", i+1, fl.Category, fl.Title)
		fmt.Fprintf(w, "     confidence:  %.2f\n", fl.Confidence)
		fmt.Fprintf(w, "     fingerprint: %s\n", fl.Fingerprint)
		if fl.Message != "" {
			fmt.Fprintf(w, "     message:     %s\n", strings.ReplaceAll(fl.Message, "\n", "\n                  "))
		}
		if fl.TestID != "" {
			fmt.Fprintf(w, "     test:        %s\n", fl.TestID)
		}
		if fl.File != "" {
			loc := fl.File
			if fl.Line > 0 {
				loc = fmt.Sprintf("%s:%d", fl.File, fl.Line)
			}
			fmt.Fprintf(w, "     location:    %s\n", loc)
		}
		var nums []string
		for _, e := range fl.Evidence {
			if e.Line > 0 {
				nums = append(nums, fmt.Sprint(e.Line))
			}
		}
		if len(nums) > 0 {
			fmt.Fprintf(w, "     evidence:    lines %s\n", strings.Join(nums, ", "))
		} else {
			fmt.Fprintf(w, "     evidence:\n")
		}
		for _, e := range fl.Evidence {
			if e.Line > 0 {
				fmt.Fprintf(w, "       %6d | %s\n", e.Line, e.Text)
			} else {
				fmt.Fprintf(w, "              | %s\n", e.Text)
			}
		}
		if len(fl.Diagnostics) > 0 {
			fmt.Fprintf(w, "     diagnostics:\n")
			for _, d := range fl.Diagnostics {
				loc := d.File
				if d.Line > 0 {
					loc = fmt.Sprintf("%s:%d", d.File, d.Line)
				}
				if d.Column > 0 {
					loc += fmt.Sprintf(":%d", d.Column)
				}
				fmt.Fprintf(w, "       %s %s: %s (%s, log line %d)\n", loc, d.Severity, d.Message, d.Owner, d.LogLine)
			}
		}
		if fl.Hint != "" {
			fmt.Fprintf(w, "     hint:        %s\n", fl.Hint)
		}
		fmt.Fprintf(w, "     remediation: %s\n", fl.Remediation)
	}
}

// readLongLine reads one line, keeping at most max bytes of it; it returns
// io.EOF with the last line when the input does not end in a newline.
func readLongLine(br *bufio.Reader, max int) (string, error) {
	var b []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(b) < max {
			b = append(b, chunk[:min(len(chunk), max-len(b))]...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		s := strings.TrimRight(string(b), "\r\n")
		if err == nil {
			return s, nil
		}
		return s, err
	}
}

// checkoutPaths places files in a local checkout: the directory is a root
// of absolute paths, and a path is the repository's when the file exists.
func checkoutPaths(dir string) triage.Paths {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return triage.Paths{Roots: []string{abs}}
	}
	return triage.Paths{Roots: []string{abs}, Exists: func(rel string) bool {
		fi, err := root.Stat(filepath.FromSlash(rel))
		return err == nil && fi.Mode().IsRegular()
	}}
}
