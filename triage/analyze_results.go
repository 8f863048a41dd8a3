package triage

import (
	"fmt"
	"strings"
)

// fromResults turns failing tests and package problems into failures.
func (a *stepAnalysis) fromResults() []Failure {
	res := a.st.Results
	if res == nil {
		return nil
	}
	var out []Failure
	for _, p := range res.Problems {
		if f, ok := a.fromProblem(p); ok {
			out = append(out, f)
		}
	}
	// Only the last run of each test counts, and a parent whose subtest
	// failed is explained by the subtest.
	last := map[string]int{}
	for i, t := range res.Tests {
		last[t.ID()] = i
	}
	// A subtest's own name may hold slashes: every prefix up to a slash
	// may be its parent.
	failedChild := map[string]bool{}
	for i, t := range res.Tests {
		if last[t.ID()] != i || !isFailing(t.Outcome) {
			continue
		}
		for j := strings.LastIndexByte(t.Name, '/'); j > 0; j = strings.LastIndexByte(t.Name[:j], '/') {
			failedChild[TestID(t.Package, t.Name[:j])] = true
		}
	}
	panicked := map[string]bool{}
	for _, p := range res.Problems {
		if p.Test != "" {
			panicked[TestID(p.Package, p.Test)] = true
		}
	}
	n := 0
	for i, t := range res.Tests {
		id := t.ID()
		if last[id] != i || !isFailing(t.Outcome) || panicked[id] || failedChild[id] && !t.HasOwnFailure() {
			continue
		}
		if n++; n > a.opts.MaxTestFailures {
			break
		}
		out = append(out, a.fromTest(t))
	}
	return out
}

func isFailing(o Outcome) bool { return o == OutcomeFail || o == OutcomeError }

func (a *stepAnalysis) fromTest(t TestCase) Failure {
	id := t.ID()
	msg := t.Message
	if msg == "" {
		msg = firstMeaningfulLine(t.Output)
	}
	headline := Headline(msg)
	title := t.Name + " failed"
	if t.Outcome == OutcomeError {
		title = t.Name + " errored"
	}
	if headline != "" {
		title += ": " + headline
	}
	f := Failure{
		Category: CategoryTest, Title: oneLine(title, 200), Confidence: 0.9, TestID: id,
		Message: msg, Line: t.Line, Source: "test", Remediation: remTest,
		Hint: "The test's own assertion failed; the message says what differed.",
	}
	f.File = a.resolve(t.File, t.Package)
	if f.File == "" {
		f.Line = 0
	}
	// A test that failed because the machine ran out of memory or the
	// network is down is not a test bug: let its message say so.
	if m, ok := classifyLines(a.opts.Rules, append([]string{msg}, lastN(strings.Split(t.Output, "\n"), 40)...)); ok &&
		m.Score >= 0.85 && m.Category != CategoryTest && m.Category != CategoryUnknown && m.Category != CategoryCompile && m.Category != CategoryLint {
		r := ruleByID(a.opts.Rules, m.RuleID)
		f.Category, f.Hint, f.Remediation, f.Rule = m.Category, r.Hint, r.Remediation, r.ID
		f.Confidence = round2(m.Score * 0.9)
	}
	f.NormalizedMessage = Normalize(headline)
	if f.NormalizedMessage == "" {
		f.NormalizedMessage = "test failed"
	}
	f.Identity = id
	f.Fingerprint = Fingerprint(f.Category, f.NormalizedMessage, id)
	f.Evidence = a.testEvidence(t, FirstLine(msg))
	return f
}

// testEvidence finds the log lines about a test (its failure line, its
// message); when the log has none, the test's own output stands in.
func (a *stepAnalysis) testEvidence(t TestCase, msg string) []Evidence {
	// The test's full name or its message: a subtest's last name element
	// alone ("bool", "one") is in its siblings' lines too.
	var ev []Evidence
	for _, m := range a.rep.Matches {
		if len(ev) >= a.opts.MaxEvidence {
			break
		}
		if containsTestName(m.Text, t.Name) || msg != "" && len(msg) > 8 && strings.Contains(m.Text, msg) {
			ev = append(ev, Evidence{Line: m.Line, Text: m.Text, Before: m.Before, After: m.After, Rule: m.RuleID})
		}
	}
	if len(ev) > 0 {
		return ev
	}
	for _, l := range strings.Split(t.Output, "\n") {
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "=== ") {
			continue
		}
		ev = append(ev, Evidence{Text: oneLine(l, maxContextLen)})
		if len(ev) >= a.opts.MaxEvidence {
			break
		}
	}
	if len(ev) == 0 && msg != "" {
		ev = append(ev, Evidence{Text: msg})
	}
	return ev
}

func firstMeaningfulLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "=== ") && !strings.HasPrefix(l, "--- ") {
			return l
		}
	}
	return ""
}

// fromProblem explains a package-level problem.
func (a *stepAnalysis) fromProblem(p Problem) (Failure, bool) {
	f := Failure{Source: "results", Line: p.Line, Frames: p.Frames, Message: problemMessage(p)}
	f.File = a.resolve(p.File, p.Package)
	if f.File == "" {
		f.Line = 0
	}
	identity := strings.Join(p.Frames, "\n")
	switch p.Kind {
	case ProblemBuildFailed, ProblemSetupFailed:
		f.Category, f.Confidence = CategoryCompile, 0.95
		f.Title = prefixed(p.Package, p.Message)
		if f.File != "" {
			f.Title = fmt.Sprintf("%s:%d: %s", f.File, f.Line, p.Message)
		}
		if p.Kind == ProblemSetupFailed {
			f.Hint = "go test could not set the package up: a syntax error or a bad import in a test file."
		} else {
			f.Hint = "The package or its tests do not compile."
		}
		f.Remediation = remCompile
		identity = p.Package + " " + f.File
		// A module that could not be downloaded is not a compile error.
		if m, ok := classifyLines(a.opts.Rules, []string{p.Message}); ok && m.Score >= 0.6 &&
			(m.Category == CategoryDependency || m.Category == CategoryNetwork || m.Category == CategoryConfiguration) {
			r := ruleByID(a.opts.Rules, m.RuleID)
			f.Category, f.Hint, f.Remediation, f.Rule = m.Category, r.Hint, r.Remediation, r.ID
			f.Confidence = round2(m.Score)
		}
	case ProblemVet:
		f.Category, f.Confidence = CategoryLint, 0.9
		f.Title = fmt.Sprintf("go vet: %s", p.Message)
		if f.File != "" {
			f.Title = fmt.Sprintf("go vet: %s:%d: %s", f.File, f.Line, p.Message)
		}
		f.Hint = "go vet found a likely bug at this line; the code compiles, but go test runs vet and fails on it."
		f.Remediation = remLint
		identity = p.Package + " " + f.File
	case ProblemTimeout:
		f.Category, f.Confidence = CategoryTimeout, 0.95
		f.Title = prefixed(p.Package, strings.TrimPrefix(p.Message, "panic: "))
		if p.Test != "" {
			f.Title += " (running " + p.Test + ")"
			f.TestID = TestID(p.Package, p.Test)
			identity = f.TestID
		}
		r := ruleByID(DefaultRules(), "timeout.go-test")
		f.Hint, f.Remediation = r.Hint, r.Remediation
		f.Hint += " The package's tests after this one did not run."
	case ProblemPanic, ProblemRace:
		f.Category, f.Confidence = CategoryTest, 0.9
		what := "panic"
		if p.Kind == ProblemRace {
			what = "data race"
		}
		f.Title = fmt.Sprintf("%s in %s", what, p.Package)
		if p.Test != "" {
			f.Title = fmt.Sprintf("%s in %s", what, p.Test)
			f.TestID = TestID(p.Package, p.Test)
			if identity == "" {
				identity = f.TestID
			}
		}
		if p.Kind == ProblemPanic {
			f.Title += ": " + strings.TrimPrefix(p.Message, "panic: ")
			r := ruleByID(DefaultRules(), "test.go-panic")
			f.Hint, f.Remediation = r.Hint, r.Remediation
			f.Hint += " The package's tests after this one did not run."
		} else {
			r := ruleByID(DefaultRules(), "test.go-race")
			f.Hint, f.Remediation = r.Hint, r.Remediation
		}
	case ProblemFailed, ProblemNoEnd:
		f.Category, f.Confidence = CategoryUnknown, 0.4
		if p.Kind == ProblemNoEnd {
			f.Confidence = 0.3
		}
		f.Title = prefixed(p.Package, p.Message)
		f.Hint = "The package failed outside any test (TestMain, init, os.Exit) or its output was cut short."
		f.Remediation = "Read the package output in the evidence; check TestMain and init code."
		if m, ok := classifyLines(a.opts.Rules, append([]string{p.Message}, p.Output...)); ok && m.Category != CategoryUnknown {
			r := ruleByID(a.opts.Rules, m.RuleID)
			f.Category, f.Hint, f.Remediation, f.Rule = m.Category, r.Hint, r.Remediation, r.ID
			f.Confidence = round2(m.Score * 0.9)
		}
		identity = p.Package
	default:
		return Failure{}, false
	}
	f.Title = oneLine(f.Title, 200)
	f.NormalizedMessage = Normalize(p.Message)
	f.Identity = identity
	f.Fingerprint = Fingerprint(f.Category, f.NormalizedMessage, identity)
	f.Evidence, f.EvidenceRanges = a.problemEvidence(p)
	return f, true
}

// problemEvidence locates a problem's lines in the log, or falls back to
// the problem's own output. A panic found in the log is shown as the log
// has it, with its goroutine trace (its block), not as a few frames.
func (a *stepAnalysis) problemEvidence(p Problem) ([]Evidence, []LineRange) {
	var ev []Evidence
	var traced []Match
	for _, m := range a.rep.Matches {
		if len(ev) >= a.opts.MaxEvidence {
			break
		}
		// Several diagnostics may share a file: the line tells them apart.
		if strings.Contains(m.Text, p.Message) || p.File != "" && strings.Contains(m.Text, fmt.Sprintf("%s:%d", p.File, p.Line)) {
			ev = append(ev, Evidence{Line: m.Line, Text: m.Text, Before: m.Before, After: m.After, Rule: m.RuleID})
			if m.block != nil && m.block.trace == traceGo && (len(traced) == 0 || traced[len(traced)-1].block != m.block) {
				traced = append(traced, m)
			}
		}
	}
	if p.Kind == ProblemPanic && len(traced) > 0 {
		byLine := make(map[int64]*Match, len(a.rep.Matches))
		for i := range a.rep.Matches {
			byLine[a.rep.Matches[i].Line] = &a.rep.Matches[i]
		}
		return blockEvidence(traced, byLine)
	}
	if len(ev) > 0 {
		return append(ev, repoFrames(p, a.opts.MaxEvidence-len(ev))...), nil
	}
	ev = append(ev, Evidence{Text: p.Message})
	if fs := repoFrames(p, a.opts.MaxEvidence-1); len(fs) > 0 {
		return append(ev, fs...), nil
	}
	for _, l := range p.Output {
		if len(ev) >= a.opts.MaxEvidence {
			break
		}
		if strings.TrimSpace(l) != "" && l != p.Message {
			ev = append(ev, Evidence{Text: l})
		}
	}
	return ev, nil
}

// resolve places a file a Go tool printed in the repository, "" when it
// is not the repository's (the standard library, the module cache). An
// absolute path below a root triage was not told about stays as printed:
// the report, which knows the runner's workspace directories, may still
// place it, and never annotates it otherwise.
func (a *stepAnalysis) resolve(file, pkg string) string {
	if file == "" {
		return ""
	}
	rel, ok := a.opts.Paths.Resolve(file, pkg)
	if !ok {
		if strings.HasPrefix(file, "/") && a.opts.Paths.Exists == nil && !isOutsideRepo(file) {
			return file
		}
		return ""
	}
	return rel
}

// prefixed is "pkg: msg", or msg when the package is not known.
func prefixed(pkg, msg string) string {
	if pkg == "" {
		return msg
	}
	return pkg + ": " + msg
}

// repoFrames are the frames of a panic, race or timeout report that are
// in the repository's code (the racing goroutines' for a race), at most
// n, each as the function and its location.
func repoFrames(p Problem, n int) []Evidence {
	if p.Kind != ProblemPanic && p.Kind != ProblemRace && p.Kind != ProblemTimeout {
		return nil
	}
	var ev []Evidence
	for i := 1; i < len(p.Output) && len(ev) < n; i++ {
		if f, ok := parseGoFrame(p.Output[i], p.Output[i-1]); ok && !f.isStdFrame() {
			ev = append(ev, Evidence{Text: strings.TrimSpace(p.Output[i-1]) + "  " + strings.TrimSpace(p.Output[i])})
		}
	}
	return ev
}

// containsTestName reports whether text names the test, not a subtest of
// it ("TestA" is in "--- FAIL: TestA/b" too).
func containsTestName(text, name string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], name)
		if j < 0 {
			return false
		}
		end := i + j + len(name)
		if end == len(text) || text[end] != '/' {
			return true
		}
		i = end
	}
}
