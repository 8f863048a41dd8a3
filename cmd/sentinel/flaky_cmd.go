package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/sentinel-ci/sentinel/jobs"
	"github.com/sentinel-ci/sentinel/triage"
)

// flakySchema names the layout of `sentinel flaky --json` output,
// documented in the README ("Judging a history offline").
const flakySchema = "sentinel.flaky/v1"

// flakyVerdicts orders the verdicts in the output: what needs a person first.
var flakyVerdicts = []string{"flaky", "broken", "healthy"}

type flakyOutput struct {
	Schema string          `json:"schema"`
	Files  []string        `json:"files"`
	Runs   int             `json:"runs"`
	Tests  []flakyTestJSON `json:"tests"`
}

type flakyTestJSON struct {
	Test        string              `json:"test"`
	Verdict     string              `json:"verdict"`
	State       triage.TestState    `json:"state"`
	Runs        int                 `json:"runs"`
	Failures    int                 `json:"failures"`
	Excluded    int                 `json:"excluded"`
	FailureRate float64             `json:"failure_rate"`
	Evidence    string              `json:"evidence"`
	FirstBad    string              `json:"first_bad_commit,omitempty"`
	LastGood    string              `json:"last_good_commit,omitempty"`
	Score       triage.FlakyScore   `json:"score"`
	Transitions []triage.Transition `json:"transitions"`
}

// flakyRun is one CI run of the history: its commit (or "#N", its
// position, when the input has none) and each test's outcomes in it.
type flakyRun struct {
	commit string
	tests  map[string]*runOutcome
}

type runOutcome struct{ pass, fail bool }

// flakyHistory gathers runs in the order the inputs give them.
type flakyHistory struct {
	runs  []*flakyRun
	order []string // test ids, first seen first
	seen  map[string]bool
	caps  jobs.ResultCaps // on each report file, as on a step's results
	warn  io.Writer       // told what a cap left out
}

func (h *flakyHistory) newRun(commit string) *flakyRun {
	if commit == "" {
		commit = "#" + strconv.Itoa(len(h.runs)+1)
	}
	r := &flakyRun{commit: commit, tests: map[string]*runOutcome{}}
	h.runs = append(h.runs, r)
	return r
}

// record adds one outcome of a test to a run; a skip is no evidence.
func (h *flakyHistory) record(r *flakyRun, test string, failed bool) {
	if !h.seen[test] {
		h.seen[test] = true
		h.order = append(h.order, test)
	}
	o := r.tests[test]
	if o == nil {
		o = &runOutcome{}
		r.tests[test] = o
	}
	if failed {
		o.fail = true
	} else {
		o.pass = true
	}
}

// runFlaky implements `sentinel flaky [--json] FILE...`: each JUnit XML or
// go test -json FILE is one run, in argument order; a CSV FILE
// (run,commit,test,outcome) holds many runs in row order. Every test's
// history is judged by triage.JudgeHistory, the server's engine. Exit
// status: 0 judged, 1 a file could not be read or parsed, 2 bad usage.
func runFlaky(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("flaky", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print a JSON document (schema "+flakySchema+") instead of text")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sentinel flaky [--json] FILE...")
		fmt.Fprintln(stderr, "Judge each test of an exported CI history flaky, broken or healthy.")
		fmt.Fprintln(stderr, "FILE: one run's JUnit XML or go test -json report (runs in argument order),")
		fmt.Fprintln(stderr, "or a CSV with the header run,commit,test,outcome (runs in row order).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	caps, err := resultCapsFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, "sentinel flaky:", err)
		return 2
	}
	h := &flakyHistory{seen: map[string]bool{}, caps: caps, warn: stderr}
	for _, path := range fs.Args() {
		if err := h.readFile(path); err != nil {
			fmt.Fprintln(stderr, "sentinel flaky:", err)
			return 1
		}
	}
	out := flakyOutput{Schema: flakySchema, Files: fs.Args(), Runs: len(h.runs), Tests: h.judge()}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fmt.Fprintln(stderr, "sentinel flaky:", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stdout, "%d runs, %d tests\n", out.Runs, len(out.Tests))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERDICT\tRATE\tTEST\tEVIDENCE")
	for _, t := range out.Tests {
		fmt.Fprintf(tw, "%s\t%.1f%%\t%s\t%s\n", t.Verdict, 100*t.FailureRate, t.Test, t.Evidence)
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintln(stderr, "sentinel flaky:", err)
		return 1
	}
	return 0
}

// judge replays each test's runs through the engine. A run where most
// tests failed at once (triage.MassFailure) is excluded, as on the server.
func (h *flakyHistory) judge() []flakyTestJSON {
	mass := make([]bool, len(h.runs))
	for i, r := range h.runs {
		failed := 0
		for _, o := range r.tests {
			if o.fail {
				failed++
			}
		}
		mass[i] = triage.MassFailure(len(r.tests), failed)
	}
	var c triage.FlakyConfig
	tests := make([]flakyTestJSON, 0, len(h.order))
	for _, id := range h.order {
		var obs []triage.Observation
		t := flakyTestJSON{Test: id, Transitions: []triage.Transition{}}
		for i, r := range h.runs {
			o := r.tests[id]
			if o == nil {
				continue
			}
			obs = append(obs, triage.Observation{SHA: r.commit, Failed: o.fail, SameCommitFlip: o.pass && o.fail, Excluded: mass[i]})
			if mass[i] {
				t.Excluded++
				continue
			}
			t.Runs++
			if o.fail {
				t.Failures++
			}
		}
		state, score, ts := triage.JudgeHistory(obs, c)
		t.State, t.Score = state.State, score
		t.Transitions = append(t.Transitions, ts...)
		t.FirstBad, t.LastGood = state.FirstBadSHA, state.LastGoodSHA
		switch {
		case state.State == triage.TestBroken:
			t.Verdict = "broken"
		case triage.EverFlaky(ts):
			t.Verdict = "flaky"
		default:
			t.Verdict = "healthy"
		}
		if t.Runs > 0 {
			t.FailureRate = float64(t.Failures) / float64(t.Runs)
		}
		ev := []string{fmt.Sprintf("failed %d of %d runs", t.Failures, t.Runs)}
		if t.Excluded > 0 {
			ev = append(ev, fmt.Sprintf("%d runs excluded as mass failures", t.Excluded))
		}
		for _, tr := range ts {
			ev = append(ev, fmt.Sprintf("%s: %s", tr.To, tr.Reason))
		}
		t.Evidence = strings.Join(ev, "; ")
		tests = append(tests, t)
	}
	slices.SortStableFunc(tests, func(a, b flakyTestJSON) int {
		if d := slices.Index(flakyVerdicts, a.Verdict) - slices.Index(flakyVerdicts, b.Verdict); d != 0 {
			return d
		}
		return strings.Compare(a.Test, b.Test)
	})
	return tests
}

// readFile reads one input file: a CSV history, or one run's report. A
// report is read under the caps of a step's results: one over the size cap
// is an error (its run would be missing from the history), and past the
// cap on test cases the failing ones are kept first, with a warning.
func (h *flakyHistory) readFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xEF\xBB\xBF")) {
		br.Discard(3)
	}
	head, err := br.Peek(8192)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return err
	}
	if strings.EqualFold(filepath.Ext(path), ".csv") || isHistoryHeader(head) {
		data, err := io.ReadAll(br)
		if err != nil {
			return err
		}
		return h.readCSV(path, data)
	}
	format := triage.DetectFormat(head)
	if format != triage.FormatJUnit && format != triage.FormatGoTestJSON {
		return fmt.Errorf("%s: not JUnit XML, go test -json or a run,commit,test,outcome CSV", path)
	}
	if st, err := f.Stat(); err == nil && st.Size() > h.caps.FileBytes {
		return errors.New(jobs.OversizeWarning(path, st.Size(), h.caps.FileBytes))
	}
	res, err := jobs.ParseResults(br, format, h.caps.Tests)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if w := jobs.CapWarning(res); w != "" {
		fmt.Fprintf(h.warn, "sentinel flaky: %s: %s\n", path, w)
	}
	r := h.newRun("")
	for _, tc := range res.Tests {
		switch tc.Outcome {
		case triage.OutcomePass:
			h.record(r, tc.ID(), false)
		case triage.OutcomeFail, triage.OutcomeError, triage.OutcomeIncomplete:
			h.record(r, tc.ID(), true)
		}
	}
	return nil
}

var historyColumns = []string{"run", "commit", "test", "outcome"}

// isHistoryHeader reports whether the first line names the CSV columns.
func isHistoryHeader(data []byte) bool {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	cols := strings.Split(strings.ToLower(strings.TrimSpace(string(line))), ",")
	for _, want := range historyColumns {
		if !slices.Contains(cols, want) {
			return false
		}
	}
	return true
}

// readCSV reads a history of rows run,commit,test,outcome (columns in any
// order, more allowed). Rows of one run need not be adjacent; runs are
// ordered by their first row.
func (h *flakyHistory) readCSV(path string, data []byte) error {
	cr := csv.NewReader(bufio.NewReader(bytes.NewReader(data)))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return csvError(path, err)
	}
	col := map[string]int{}
	for i, name := range header {
		col[strings.ToLower(strings.TrimSpace(name))] = i
	}
	for _, want := range historyColumns {
		if _, ok := col[want]; !ok {
			return fmt.Errorf("%s:1: header %q lacks the column %q (want run,commit,test,outcome)", path, strings.Join(header, ","), want)
		}
	}
	runs := map[string]*flakyRun{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return csvError(path, err)
		}
		line, _ := cr.FieldPos(0)
		field := func(name string) (string, error) {
			i := col[name]
			if i >= len(rec) {
				return "", fmt.Errorf("%s:%d: %d fields, no %s (want run,commit,test,outcome)", path, line, len(rec), name)
			}
			return strings.TrimSpace(rec[i]), nil
		}
		var v [4]string
		for i, name := range historyColumns {
			if v[i], err = field(name); err != nil {
				return err
			}
		}
		run, commit, test, outcome := v[0], v[1], v[2], v[3]
		if run == "" || test == "" {
			return fmt.Errorf("%s:%d: empty run or test", path, line)
		}
		var failed bool
		switch strings.ToLower(outcome) {
		case "pass", "passed", "success", "ok":
		case "fail", "failed", "failure", "error":
			failed = true
		case "skip", "skipped":
			continue
		default:
			return fmt.Errorf("%s:%d: outcome %q is not pass, fail, error or skip", path, line, outcome)
		}
		r := runs[run]
		if r == nil {
			r = h.newRun(commit)
			runs[run] = r
		} else if commit != "" && r.commit != commit {
			return fmt.Errorf("%s:%d: run %s has two commits, %s and %s", path, line, run, r.commit, commit)
		}
		h.record(r, test, failed)
	}
}

func csvError(path string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d: %v", path, pe.Line, pe.Err)
	}
	if err == io.EOF {
		return fmt.Errorf("%s: empty file (want the header run,commit,test,outcome)", path)
	}
	return fmt.Errorf("%s: %w", path, err)
}
