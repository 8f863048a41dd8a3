package triage

const (
	remCompile = "Fix the compile error at the file and line shown (run the build locally); it usually comes from an API change, a missing import or a merge mistake."
	remLint    = "Fix the reported lint findings (the evidence names file, line and check), or run the linter/formatter locally with --fix; disable a check only deliberately."
	remTest    = "Run the failing test locally with the same flags; read the assertion message in the evidence. If it passes on retry, it may be flaky."
)

var compileRules = []Rule{
	rule("compile.go", CategoryCompile, 0.9, `\.go:\d+(?::\d+)?: (undefined: \S+|cannot use .*|imported and not used.*|declared and not used.*|"[^"]+" imported and not used|syntax error: .*|expected .*, found .*|missing return|too many arguments in call.*|not enough arguments in call.*|invalid operation: .*|cannot find package .*|no new variables on left side of :=|\S+ redeclared in this block|assignment mismatch: .*|\S+ has no field or method .*|could not import .*|undefined \(type .*|non-boolean condition.*|cannot convert .*|unknown field .*|mismatched types .*|too many errors|multiple-value .*|cannot infer .*|is not a type|\S+ is not used|invalid recursive type.*|missing argument .*|cannot assign to .*|first argument to append.*|label \S+ defined and not used|\S+ declared and not used)`, "Go compile error: $1", "The Go code does not compile.", remCompile),
	rule("compile.go-generic", CategoryCompile, 0.8, `^\s*(\./)?[\w./-]+\.go:\d+:\d+: \S.*|\[build failed\]|\[setup failed\]`, "Go build failed", "The Go package did not build.", remCompile),
	rule("compile.go-vet-fail", CategoryCompile, 0.65, `^# [\w./-]+( \[[\w./-]+\.test\])?$`, "Go build failed", "The Go toolchain printed errors for this package.", remCompile),
	rule("compile.typescript", CategoryCompile, 0.92, `error (TS\d+): (.*)`, "TypeScript error $1: $2", "The TypeScript code does not type-check.", "Fix the type error at the file and line shown; run tsc --noEmit locally."),
	rule("compile.rust", CategoryCompile, 0.92, `^error\[(E\d{4})\]: (.*)`, "Rust compile error $1: $2", "The Rust code does not compile.", "Fix the error at the location on the following --> line; rustc --explain $1 describes it."),
	rule("compile.rust-plain", CategoryCompile, 0.85, `^error: (?:cannot find|expected .* found|unresolved import|mismatched types|this function takes|no method named|use of undeclared|unknown start of token|proc-macro derive panicked)`, "Rust compile error: $0", "The Rust code does not compile.", remCompile),
	rule("compile.rust-could-not", CategoryCompile, 0.8, `error: could not compile `+"`"+`([^`+"`"+`]+)`+"`"+`|error: aborting due to (\d+ )?previous errors?`, "Rust crate $1 failed to compile", "rustc reported errors above this line.", remCompile),
	rule("compile.java", CategoryCompile, 0.92, `\.(?:java|kt|scala|groovy):\[?\d+[,:\]]?.*(?:error: |cannot find symbol|incompatible types|cannot be applied to|does not exist|is not abstract and does not override|unreported exception|class, interface, enum, or record expected|';' expected|Unresolved reference)|^e: \S+\.kts?:|^e: file://\S+\.kts?:\d+|error: package \S+ does not exist`, "Java/JVM compile error", "The JVM code does not compile.", remCompile),
	rule("compile.java-summary", CategoryCompile, 0.85, `^\s*(?:symbol|location):\s+(?:class|variable|method) |cannot find symbol|COMPILATION ERROR|Compilation failure|Compilation failed; see the compiler error output`, "Java/JVM compile error", "The JVM code does not compile.", remCompile),
	rule("compile.c", CategoryCompile, 0.85, `\.(c|cc|cpp|cxx|h|hpp|m|mm|swift):\d+:(\d+:)? (fatal )?error: (.*)|undefined reference to .*|ld: symbol\(s\) not found|collect2: error: ld returned|error: linker `+"`"+`\S+`+"`"+` not found|LNK\d{4}: `, "C/C++ build error", "The native code does not compile or link.", remCompile),
	rule("compile.csharp", CategoryCompile, 0.9, `error (CS\d{4}): (.*)`, "C# compile error $1", "The C# code does not compile.", remCompile),
	rule("compile.python-syntax", CategoryCompile, 0.85, `^\s*(SyntaxError|IndentationError|TabError): (.*)`, "Python $1: $2", "The Python code does not parse.", remCompile),
	rule("compile.python-import", CategoryCompile, 0.7, `ImportError: cannot import name '([^']+)'|AttributeError: module '\S+' has no attribute`, "Python import error: $0", "Code imports a name that does not exist (renamed or removed API, circular import).", remCompile),
	rule("compile.node-syntax", CategoryCompile, 0.8, `^SyntaxError: |Module not found: Error: Can't resolve|Module build failed|ERROR in \S+|Failed to compile\.|\[vite\]: Rollup failed to resolve|Build failed with \d+ errors?|error during build:|✘ \[ERROR\]|Transform failed with \d+ error`, "JavaScript build error", "The bundler or compiler could not build the code.", remCompile),
	// A module required by relative path is a file of the project, not a
	// package: it is missing from the checkout or was never generated
	// (dep.node-module-missing takes the package names).
	rule("compile.node-local-module", CategoryCompile, 0.75, `Error: Cannot find module '(\.\.?/[^']*)'`, "Project file not found: $1", "A file the program requires by a relative path is not in the checkout (not committed, or the step that generates it did not run).", "Commit the file or run the step that generates it before this one; check the path's spelling and case."),
	rule("compile.dotnet-build", CategoryCompile, 0.75, `Build FAILED\.|error MSB\d{4}:`, "Build failed", "The build reported errors.", remCompile),
}

var lintRules = []Rule{
	rule("lint.golangci", CategoryLint, 0.9, `\.go:\d+(:\d+)?: .*\((errcheck|govet|staticcheck|unused|gosimple|ineffassign|revive|gofmt|gofumpt|goimports|gocritic|misspell|lll|gosec|stylecheck|unparam|dupl|goconst|gocyclo|nakedret|prealloc|bodyclose|noctx|errorlint|exhaustive|wrapcheck|nolintlint|unconvert|whitespace|godot|testifylint|perfsprint|copyloopvar|intrange|usestdlibvars|mnd|funlen|nestif|gocognit|predeclared|thelper|tparallel|paralleltest|forcetypeassert|contextcheck|nilerr|errname|goerr113|err113|depguard|gci|protogetter|sloglint|canonicalheader)\)$|level=error msg="\[linters_context\]`, "Lint: golangci-lint findings", "The linter reported issues.", remLint),
	rule("lint.govet", CategoryLint, 0.86, `\.go:\d+:\d+: (?:printf|copylocks|lostcancel|unusedresult|structtag|composites|loopclosure|shadow|assign|atomic|bools|buildtag|errorsas|httpresponse|ifaceassert|nilfunc|shift|stdmethods|stringintconv|tests|unmarshal|unreachable|unsafeptr|directive|slog|appends|defers|timeformat|waitgroup|hostport): |\.go:\d+:\d+: .*\((?:SA|S|ST|QF|U)\d{4}\)$`, "Lint: go vet / staticcheck finding", "go vet or staticcheck reported a likely bug.", remLint),
	rule("lint.gofmt", CategoryLint, 0.8, `(?i)files? (are|is) not gofmt|not formatted|would reformat|Code style issues found|Forgot to run Prettier|code style issues|The following files had format violations|Diff in \S+ at line|--check failed|needs formatting|reformatted`, "Formatting check failed", "Some files are not formatted as the project's formatter wants.", "Run the formatter (gofmt -w, prettier --write, black, cargo fmt, spotless:apply) and commit the result."),
	rule("lint.eslint", CategoryLint, 0.85, `✖ \d+ problems? \([1-9]\d* errors?|^\s+\d+:\d+\s+error\s+.+\s+[\w@/-]+$`, "Lint: ESLint errors", "ESLint reported errors.", remLint),
	rule("lint.python", CategoryLint, 0.85, `\.py:\d+:\d+: [EFWCN]\d{3} |Found \d+ errors?\.|Found \d+ errors? in \d+ files?|\.py:\d+(?::\d+)?: error: .*\[[\w-]+\]$|Your code has been rated at|\.py:\d+:\d+: [A-Z]\d{4}: |would reformat|Oh no! 💥 💔 💥`, "Lint: Python linter findings", "A Python linter or type checker reported problems.", remLint),
	rule("lint.clippy", CategoryLint, 0.85, `#\[deny\(clippy::|-D clippy::|implied by .-D warnings.|error: .*\(clippy\)`, "Lint: clippy findings", "clippy reported problems (with -D warnings they fail the build).", remLint),
	rule("lint.jvm", CategoryLint, 0.85, `You have \d+ Checkstyle violations?|\[checkstyle\]|PMD Failure|There are \d+ PMD violations`, "Lint: JVM static analysis findings", "Checkstyle/PMD/SpotBugs/ktlint reported violations.", remLint),
	rule("lint.shellcheck", CategoryLint, 0.85, `SC\d{4}( \(\w+\))?:`, "Lint: shellcheck findings", "shellcheck reported problems.", remLint),
	rule("lint.generic", CategoryLint, 0.5, `(?i)\blint(er|ing)? (failed|errors?|issues?)|\bvet: `, "Lint failed", "A lint or vet step reported problems.", remLint),
}

var testRules = []Rule{
	rule("test.go-fail", CategoryTest, 0.78, `^\s*--- FAIL: (\S+)`, "Test failed: $1", "A Go test failed; its output above this line holds the assertion.", remTest),
	rule("test.go-location", CategoryTest, 0.72, `^\s+(\w+: )?[\w.-]+_test\.go:\d+: .*`, "Test assertion failed", "A Go test reported a failure at this line.", remTest),
	rule("test.go-pkg", CategoryTest, 0.55, `^FAIL\s+\S+\s+[\d.]+s$|^FAIL$|^FAIL\s`, "Go test package failed", "A test package failed.", remTest),
	rule("test.go-panic", CategoryTest, 0.8, `^panic: (.*)|^\s*panic: `, "Test panicked: $1", "A panic ended the test binary; the first frames of the stack show where.", "Read the panic message and the first stack frames in your code; fix the nil dereference / index error / failed type assertion they point at."),
	rule("test.go-race", CategoryTest, 0.85, `WARNING: DATA RACE|race detected during execution of test`, "Data race detected", "The race detector saw two goroutines touch the same memory without synchronisation.", "Read both stacks in the race report; protect the shared variable with a mutex or channel, or stop sharing it."),
	rule("test.pytest-summary", CategoryTest, 0.7, `^FAILED (\S+::\S+)|^ERROR (\S+::\S+)`, "Python test failed: $1$2", "A pytest test failed.", remTest),
	rule("test.pytest", CategoryTest, 0.78, `^E\s+(?:AssertionError|assert|Exception|\w+Error)|^\S+\.py:\d+: (?:AssertionError|\w+Error)`, "Python test failed", "A pytest test failed.", remTest),
	rule("test.pytest-header", CategoryTest, 0.75, `^_{3,} (\S*[Tt]est\S*) _{3,}$`, "Python test failed: $1", "A pytest test failed.", remTest),
	rule("test.python-assert", CategoryTest, 0.7, `AssertionError|^FAIL: (\S+)|^ERROR: (\S+) \(`, "Python assertion failed", "An assertion failed in a Python test.", remTest),
	rule("test.jest", CategoryTest, 0.82, `^\s*● (.+ › .+)|^\s*● (.+)$`, "JavaScript test failed: $1$2", "A Jest/Vitest test failed.", remTest),
	rule("test.js-summary", CategoryTest, 0.78, `^\s*FAIL\s+\S+\.(?:js|ts|jsx|tsx|mjs|cjs)|expect\(.*\)\.\w+|^\s+\d+\) .+:$|AssertionError \[ERR_ASSERTION\]|✕ |✗ |× `, "JavaScript test failed", "A Jest/Mocha/Vitest test failed.", remTest),
	rule("test.gradle", CategoryTest, 0.82, `^(\S+ > .+) FAILED$`, "JVM test failed: $1", "A JUnit/TestNG test failed under Gradle.", remTest),
	rule("test.maven-case", CategoryTest, 0.82, `^\[ERROR\] (\S+)\s+(?:Time elapsed: .*)?<<< (?:FAILURE|ERROR)!|^\[ERROR\]\s+(\S+:\d+) .+`, "JVM test failed: $1$2", "A JUnit/TestNG test failed under Maven.", remTest),
	rule("test.maven", CategoryTest, 0.78, `<<< (?:FAILURE|ERROR)!|org\.opentest4j\.AssertionFailedError|junit\.framework\.AssertionFailedError|java\.lang\.AssertionError|expected:<.*> but was:<`, "JVM test failed", "A JUnit/TestNG test failed.", remTest),
	rule("test.cargo", CategoryTest, 0.8, `^test (\S+) \.\.\. FAILED$|^---- (\S+) stdout ----$|thread '.*' panicked at|assertion `+"`"+`left == right`+"`"+` failed`, "Rust test failed", "A cargo test failed.", remTest),
	rule("test.rspec", CategoryTest, 0.75, `Failure/Error:`, "RSpec test failed", "An RSpec example failed.", remTest),
	rule("test.dotnet", CategoryTest, 0.8, `^\s*Failed (\S+) \[[\d.]+ ?(?:ms|s|m)\]|Failed!\s+- Failed:\s+[1-9]`, "Test failed: $1", "A .NET test failed.", remTest),
	rule("test.phpunit", CategoryTest, 0.78, `^FAILURES!$|^ERRORS!$|Tests: \d+, Assertions: \d+, (?:Failures|Errors): [1-9]`, "PHPUnit tests failed", "A PHPUnit test failed.", remTest),
	rule("test.xctest", CategoryTest, 0.8, `Test Case '(.+)' failed|\*\* TEST FAILED \*\*`, "Test failed: $1", "An XCTest case failed.", remTest),
	// A program a test step runs stops on a failed assert() (glibc's and
	// musl's wording) or an exception nothing caught: the step's check
	// failed, and the frames under the line say where.
	rule("test.c-assert", CategoryTest, 0.8, `: Assertion `+"`"+`.+' failed\.$|^Assertion failed: .+ \(.+: .+: \d+\)$`, "C/C++ assertion failed", "A program the step ran stopped on a failed assert().", remTest),
	rule("test.abort", CategoryTest, 0.5, `\bAborted \(core dumped\)`, "Program aborted", "A program the step ran aborted (a failed assertion or abort()).", remTest),
	rule("test.jvm-uncaught", CategoryTest, 0.62, `^Exception in thread "[^"]*" ([\w$.]+)`, "Uncaught $1", "A JVM program the step ran stopped on an exception nothing caught.", remTest),
	rule("test.generic", CategoryTest, 0.5, `(?i)\b[1-9]\d* (tests? )?failed\b|\btests? failed\b|\bfailing tests?\b`, "Tests failed", "Some tests failed.", remTest),
}

// genericRules catch error lines no specific rule knows. Their confidence
// is low so they only decide the category when nothing better matched,
// but their lines still make evidence.
var genericRules = []Rule{
	rule("generic.error", CategoryUnknown, 0.3, `(?i)^\s*(\[?error\]?|error:|fatal:|fatal error:|\*\*\* error)|(?:^|[^\w-])(?:error|failed|failure)(?:$|[^\w-])`, "Build failed with an error", "An error was printed; no rule recognised its cause.", "Read the evidence lines; if this is a recurring cause, add a rule for it in .sentinel/rules.yml."),
	rule("generic.exception", CategoryUnknown, 0.4, `^(?:[\w$]+\.)*\w*(?:Exception|Error)(?:: .*|$)|Exception in thread "[^"]*" (\S+)|^Unhandled exception|UnhandledPromiseRejection|uncaught exception`, "Unhandled exception: $0", "A program stopped on an exception.", "Read the exception and the first frames in your code."),
	rule("generic.traceback", CategoryUnknown, 0.3, `Traceback \(most recent call last\)|^Caused by: `, "Unhandled exception", "A program stopped on an exception.", "Read the exception and the first frames in your code."),
}

// exitNotKill matches exit statuses other than 137 (SIGKILL, usually the
// OOM killer), which is a cause worth keeping, not noise.
const exitNotKill = `(?:\d{1,2}|1[0-24-9]\d|13[0-689]|[2-9]\d\d)`

// noiseRules match lines that follow a failure without saying anything
// about its cause; they are never evidence.
var noiseRules = []Rule{
	{ID: "noise.exit-code", Noise: true, Pattern: `(?i)(?:Process completed with exit code|returned non-zero exit status|Command failed with exit code|exited with code|exit status) ` + exitNotKill + `\b|ELIFECYCLE|^make(?:\[\d+\])?: \*\*\* .*Error \d+|Job failed: exit code \d+|ninja: build stopped: subcommand failed`},
	{ID: "noise.warning", Noise: true, Pattern: `^npm WARN |^npm warn |^warning (?:package|workspace|Resolution field|\S+ > )|^\[WARNING\] |^##\[warning\]|^Warning: (?:Path Validation Error|Failed to (?:save|restore)|No files were found|Unexpected input)|^\s*= note: .#\[warn\(`},
	{ID: "noise.see-log", Noise: true, Pattern: `A complete log of this run can be found in|failed to solve: process .* did not complete successfully|^#\d+ ERROR: process .* did not complete successfully|npm (?:ERR!|error) (?:command failed|command sh -c|path |code [0-9]+$)|For more information about (?:an|this) error, try|Some errors have detailed explanations|\[ERROR\] -> \[Help \d+\]|\[ERROR\] Re-run Maven using|\[ERROR\] To see the full stack trace|\[ERROR\] For more information about the errors|\[Help \d+\] http|^\[ERROR\] *$|Run with --(?:stacktrace|info|debug|scan) option|Get more help at https|See https://docs\.gradle\.org|info Visit https://yarnpkg\.com|Learn more about`},
}
