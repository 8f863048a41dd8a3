package triage

import (
	"bytes"
	"regexp"
	"strings"
)

// BuiltinMatchers returns the matchers Sentinel applies to every step log,
// in order (the first that makes a diagnostic of a line wins it). Go's
// output is read by the Go parsers, not here.
func BuiltinMatchers() []*Matcher {
	return []*Matcher{
		// shellcheck -f gcc: "deploy.sh:3:6: note: Double quote ... [SC2086]"
		{Owner: "shellcheck", Patterns: []MatcherPattern{{
			Regexp: regexp.MustCompile(`^([^\s:][^:]*):(\d+):(\d+): (error|warning|note|style|info): (.*) \[(SC\d+)\]$`),
			File:   1, Line: 2, Column: 3, Severity: 4, Message: 5, Code: 6}}},
		// javac (and Gradle's compileJava): "src/main/java/a/App.java:12: error: ';' expected"
		{Owner: "javac", Patterns: []MatcherPattern{{
			Regexp: regexp.MustCompile(`^([^\s:][^:]*\.java):(\d+): (error|warning): (.*)$`),
			File:   1, Line: 2, Severity: 3, Message: 4}}},
		// gcc, g++ and clang: "src/a.c:12:5: error: 'x' undeclared"; the
		// column is absent with -fno-show-column and in some older tools.
		{Owner: "gcc", skip: isGoFile, Patterns: []MatcherPattern{{
			Regexp: regexp.MustCompile(`^([^\s:][^:]*?):(\d+):(?:(\d+):)? (fatal error|error|warning): (.*)$`),
			File:   1, Line: 2, Column: 3, Severity: 4, Message: 5}}},
		// tsc: "src/a.ts(12,5): error TS2322: Type 'string' is not assignable..."
		{Owner: "tsc", Patterns: []MatcherPattern{{
			Regexp: regexp.MustCompile(`^([^\s(][^(]*?)\((\d+),(\d+)\): (error|warning) (TS\d+): (.*)$`),
			File:   1, Line: 2, Column: 3, Severity: 4, Code: 5, Message: 6}}},
		// tsc --pretty: "src/a.ts:12:5 - error TS2322: Type ..."
		{Owner: "tsc-pretty", Patterns: []MatcherPattern{{
			Regexp: regexp.MustCompile(`^([^\s:][^:]*?):(\d+):(\d+) - (error|warning) (TS\d+): (.*)$`),
			File:   1, Line: 2, Column: 3, Severity: 4, Code: 5, Message: 6}}},
		// eslint -f unix: "/w/src/a.js:12:5: 'x' is defined but never used. [Error/no-unused-vars]"
		{Owner: "eslint-unix", Patterns: []MatcherPattern{{
			Regexp: regexp.MustCompile(`^([^\s:][^:]*):(\d+):(\d+): (.*?) \[(Error|Warning)(?:/([^\]\s]+))?\]$`),
			File:   1, Line: 2, Column: 3, Message: 4, Severity: 5, Code: 6}}},
		// eslint's default (stylish) format: the file on a line of its own,
		// then one indented line per problem.
		{Owner: "eslint-stylish", gate: isScriptPathLine, Patterns: []MatcherPattern{
			{Regexp: regexp.MustCompile(`^(\S.*)$`), File: 1},
			{Regexp: regexp.MustCompile(`^\s+(\d+):(\d+)\s+(error|warning|info)\s+(.+?)(?:\s{2,}(\S+))?$`),
				Line: 1, Column: 2, Severity: 3, Message: 4, Code: 5, Loop: true},
		}},
		// rustc and cargo: "error[E0425]: cannot find value `x`" then
		// "  --> src/main.rs:4:13".
		{Owner: "rustc", gate: startsWithAny("error", "warning"), Patterns: []MatcherPattern{
			{Regexp: regexp.MustCompile(`^(error|warning)(?:\[(E\d+)\])?: (.*)$`), Severity: 1, Code: 2, Message: 3},
			{Regexp: regexp.MustCompile(`^\s*--> (.+?):(\d+):(\d+)$`), File: 1, Line: 2, Column: 3},
		}},
		// Maven's compiler plugin: "[ERROR] /w/src/main/java/a/App.java:[12,5] cannot find symbol"
		{Owner: "maven", Patterns: []MatcherPattern{{
			Regexp:   regexp.MustCompile(`^\[(ERROR|WARNING)\] (?:file://)?(.+?\.(?:java|kt|scala|groovy)):\[(\d+),(\d+)\] (.*)$`),
			Severity: 1, File: 2, Line: 3, Column: 4, Message: 5}}},
		// Kotlin in Gradle: "e: file:///w/src/main/kotlin/App.kt:12:5 Unresolved reference: x"
		{Owner: "kotlinc", gate: startsWithAny("e: ", "w: "), Patterns: []MatcherPattern{{
			Regexp:   regexp.MustCompile(`^(e|w): (?:file://)?([^\s:][^:]*\.kts?):(\d+):(\d+) (.*)$`),
			Severity: 1, File: 2, Line: 3, Column: 4, Message: 5}}},
		// pytest's long tracebacks end with "tests/test_a.py:12: AssertionError";
		// the first "E   " line above it says what failed.
		{Owner: "pytest", remember: regexp.MustCompile(`^E\s+(\S.*)$`), remGate: isPytestELine, remFirst: true,
			Patterns: []MatcherPattern{{
				Regexp: regexp.MustCompile(`^([^\s:][^:]*\.py):(\d+): (\w*(?:Error|Exception|Exit|Interrupt|Failed|Failure|Warning)\w*)$`),
				File:   1, Line: 2, Message: 3}}},
		// pytest's short test summary: "FAILED tests/test_a.py::test_x - assert 1 == 2"
		// names the file but no line.
		{Owner: "pytest-summary", Patterns: []MatcherPattern{{
			Regexp:  regexp.MustCompile(`^(?:FAILED|ERROR) (([^\s:]+\.py)::\S+(?: - .*)?)$`),
			Message: 1, File: 2}}},
		// Jest: the failing test's title ("● suite › test"), then the
		// first stack frame in the project ("at Object.<anonymous> (src/a.test.js:12:5)").
		{Owner: "jest", gate: isStackFrame, remember: regexp.MustCompile(`^\s*● (.+)$`),
			Patterns: []MatcherPattern{{
				Regexp: regexp.MustCompile(`^\s+at (?:.+? \()?([^\s()]+?):(\d+):(\d+)\)?$`),
				File:   1, Line: 2, Column: 3}}},
		// Python tracebacks: the innermost frame of the project, with the
		// exception that ends the traceback as message.
		{Owner: "python", pending: regexp.MustCompile(`^((?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Exit|Interrupt|Warning|Failure|Fault)\b.*)$`),
			Patterns: []MatcherPattern{{
				Regexp: regexp.MustCompile(`^\s+File "([^"]+)", line (\d+)(?:, in (.+))?$`),
				File:   1, Line: 2, Message: 3}}},
		// shellcheck's default (tty) format: "In deploy.sh line 3:", the
		// source line, then a caret line per finding.
		{Owner: "shellcheck-tty", gate: isShellcheckHeader, Patterns: []MatcherPattern{
			{Regexp: regexp.MustCompile(`^In (.+?) line (\d+):$`), File: 1, Line: 2},
			{Regexp: regexp.MustCompile(`^.*$`)},
			{Regexp: regexp.MustCompile(`^( *)\^[-^]* (SC\d+) \((\w+)\): (.*)$`), Code: 2, Severity: 3, Message: 4, Loop: true, indentColumn: 1},
		}},
	}
}

func isGoFile(f string) bool { return strings.HasSuffix(f, ".go") }

// isScriptPathLine is a line that is a file name of the languages eslint
// checks, alone and unindented: the header of eslint's stylish format.
func isScriptPathLine(line []byte) bool {
	if len(line) < 4 || line[0] == ' ' || line[0] == '\t' || bytes.IndexByte(line, ' ') >= 0 && !bytes.HasPrefix(line, []byte("/")) {
		return false
	}
	return hasSuffixFold(line, ".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts", ".vue", ".svelte", ".astro")
}

// isPytestELine is a pytest "E   message" line.
func isPytestELine(line []byte) bool {
	return len(line) > 2 && line[0] == 'E' && (line[1] == ' ' || line[1] == '\t')
}

// The gates below stand for literals so common in logs ("at ", "in ",
// "error") that the prefilter would stop on most lines: a line can match
// the matcher only if it passes.

func startsWithAny(prefixes ...string) func([]byte) bool {
	return func(line []byte) bool {
		for _, p := range prefixes {
			if bytes.HasPrefix(line, []byte(p)) {
				return true
			}
		}
		return false
	}
}

// isStackFrame is an indented "at ..." line of a JavaScript stack trace.
func isStackFrame(line []byte) bool {
	if len(line) < 8 || line[0] != ' ' && line[0] != '\t' {
		return false
	}
	return bytes.HasPrefix(bytes.TrimLeft(line, " \t"), []byte("at "))
}

// isShellcheckHeader is shellcheck's "In FILE line N:".
func isShellcheckHeader(line []byte) bool {
	return bytes.HasPrefix(line, []byte("In ")) && bytes.HasSuffix(line, []byte(":"))
}
