package triage

import "regexp"

// PipelineProblem is the failure of a run that Sentinel could not run as
// asked: an invalid or missing pipeline file, a result file that cannot be
// read. The runner knows the cause exactly, so no rule is consulted; the
// message says what is wrong and where (".sentinel.yml line 5: bad
// duration \"soon\"").
func PipelineProblem(step, message string) Failure {
	msg := oneLine(message, 300)
	if msg == "" {
		msg = "the pipeline could not be run"
	}
	f := Failure{
		Step: step, Category: CategoryConfiguration, Title: "Pipeline configuration error: " + msg, Confidence: 0.95,
		Hint:        "Sentinel could not run the pipeline as configured.",
		Remediation: "Fix .sentinel.yml (or the file named) at the place the message gives; the run never reached your code.",
		Source:      "runner", Evidence: []Evidence{{Text: msg}},
	}
	f.NormalizedMessage = Normalize(msg)
	f.Fingerprint = Fingerprint(f.Category, f.NormalizedMessage, "")
	return f
}

// ConfigProblem is a part of the repository's configuration Sentinel could
// not use while the run went on: a rules or problem-matcher file it could
// not read, result files a step declares that are missing or cannot be
// parsed. The message names the file (and line) and what is wrong.
func ConfigProblem(step, message string) Failure {
	msg := oneLine(message, 300)
	if msg == "" {
		msg = "part of the configuration could not be used"
	}
	f := Failure{
		Step: step, Category: CategoryConfiguration, Title: "Configuration problem: " + msg, Confidence: 0.9,
		Hint: "The run went on, but Sentinel could not use part of the repository's configuration.",
		Remediation: "Fix the file the message names: .sentinel/rules.yml and problem-matcher files are described in docs/rules.md; " +
			"a step's results: in .sentinel.yml must match the report files the step writes.",
		Source: "runner", Evidence: []Evidence{{Text: msg}},
	}
	if m := reConfigPlace.FindStringSubmatch(msg); m != nil {
		f.File, f.Line = m[1], atoi(m[2]) // annotated at the line that is wrong
	}
	f.NormalizedMessage = Normalize(msg)
	f.Fingerprint = Fingerprint(f.Category, f.NormalizedMessage, "")
	return f
}

// reConfigPlace reads the place of a configuration error: "FILE line N: problem".
var reConfigPlace = regexp.MustCompile(`^([^\s:]+) line (\d+): `)
