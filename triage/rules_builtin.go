package triage

// BuiltinRules returns the rules compiled into Sentinel. Confidence encodes
// priority: a line naming a specific cause (disk full, DNS failure) outranks
// the test failures or generic errors it leads to.
func BuiltinRules() []Rule {
	var out []Rule
	for _, group := range [][]Rule{
		oomRules, timeoutRules, diskRules, infraRules, networkRules, downloadRules, dependencyRules,
		systemPackageRules, configRules, toolConfigRules, compileRules, nativeCompileRules, lintRules,
		testRules, rubyRules, summaryRules, genericRules, noiseRules,
	} {
		out = append(out, group...)
	}
	return out
}

func rule(id string, c Category, conf float64, pattern, title, hint, remediation string) Rule {
	return Rule{ID: id, Category: c, Confidence: conf, Pattern: pattern, Title: title, Hint: hint, Remediation: remediation}
}

const (
	remOOM        = "Reduce the memory the step needs (fewer parallel jobs/workers, smaller test data, a lower heap setting) or raise the memory limit in .sentinel.yml (limits.memory)."
	remTimeout    = "Find what hung or slowed down (the evidence names the test or command); fix the hang, or raise the timeout for the step in .sentinel.yml if the work legitimately takes longer."
	remDisk       = "Free space on the runner (prune Docker images, caches and build output) or write build artefacts somewhere with more room; then re-run."
	remNetwork    = "A network call failed: retry the run; if it persists, check the host name, proxy settings and whether the service is up. Tests should not depend on the public internet."
	remDependency = "A dependency could not be fetched or resolved: check the package name and version exist in the registry, that lock files are committed and consistent, and credentials for private registries."
)

var oomRules = []Rule{
	rule("oom.killed-signal", CategoryOOM, 0.8, `(?i)signal: killed|\bkilled signal terminated program\b|(?:terminated|killed) by signal:? ?(?:9|SIGKILL)\b|\bsignal 9\b|exit (?:code|status):? 137\b|\bSIGKILL\b`, "Process killed (SIGKILL), most likely out of memory", "The kernel's OOM killer sends SIGKILL when a container exceeds its memory limit.", remOOM),
	rule("oom.killed-line", CategoryOOM, 0.75, `^\s*(\S+: line \d+:\s+\d+\s+)?Killed(\s+.*)?$`, "Process killed, most likely out of memory", "A bare \"Killed\" is the shell reporting a SIGKILL, usually from the OOM killer.", remOOM),
	rule("oom.oomkilled", CategoryOOM, 0.95, `OOMKilled|oom-kill|Out of memory: Killed process|Memory cgroup out of memory`, "Container killed by the OOM killer", "The container exceeded its memory limit.", remOOM),
	rule("oom.go-runtime", CategoryOOM, 0.95, `fatal error: (runtime: )?out of memory|runtime: out of memory: cannot allocate`, "Go runtime out of memory", "The Go program could not allocate more memory.", remOOM),
	rule("oom.node-heap", CategoryOOM, 0.95, `JavaScript heap out of memory|Reached heap limit Allocation failed`, "Node.js heap out of memory", "V8 reached its heap limit.", "Raise the heap with NODE_OPTIONS=--max-old-space-size=4096 (and the container limit), or reduce what the build holds in memory (fewer workers, smaller bundles)."),
	rule("oom.java", CategoryOOM, 0.95, `java\.lang\.OutOfMemoryError|OutOfMemoryError: (Java heap space|GC overhead limit exceeded|Metaspace)`, "Java out of memory: $0", "The JVM ran out of heap or metaspace.", "Raise -Xmx (MAVEN_OPTS, org.gradle.jvmargs, surefire argLine) within the container limit, or fix the leak in the failing test."),
	rule("oom.python", CategoryOOM, 0.85, `^\s*MemoryError\b|\bMemoryError: `, "Python MemoryError", "Python could not allocate memory.", remOOM),
	rule("oom.rust-alloc", CategoryOOM, 0.9, `memory allocation of \d+ bytes failed`, "Allocation failed: out of memory", "The process could not allocate memory.", remOOM),
	rule("oom.cannot-allocate", CategoryOOM, 0.85, `Cannot allocate memory|ENOMEM|std::bad_alloc|(?:virtual )?memory exhausted|out of memory allocating`, "Out of memory: cannot allocate memory", "The system refused a memory allocation.", remOOM),
	rule("oom.generic", CategoryOOM, 0.7, `(?i)\bout of memory\b`, "Out of memory", "Something ran out of memory.", remOOM),
}

var timeoutRules = []Rule{
	rule("timeout.go-test", CategoryTimeout, 0.95, `panic: test timed out after (\S+)`, "Go test binary timed out after $1", "A test ran past the -timeout; the goroutine dump after this line shows where it was stuck.", "Look at the running tests listed after the panic and the goroutine stuck in your code; fix the hang (missing context cancellation, lock, unbuffered channel) or raise go test -timeout."),
	rule("timeout.job", CategoryTimeout, 0.95, `(?i)has exceeded the maximum execution time|job.*timed out after|the job running on runner .* has exceeded|Job's timeout|Job failed: execution took longer than|step timed out|timed out waiting for the step`, "Job exceeded its time limit", "The CI system stopped the job at its timeout.", remTimeout),
	rule("timeout.pytest", CategoryTimeout, 0.9, `Timeout >\s*[\d.]+s|pytest_timeout|Failed: Timeout`, "pytest-timeout stopped a test", "A test ran past its pytest-timeout limit.", remTimeout),
	rule("timeout.jest", CategoryTimeout, 0.85, `Exceeded timeout of \d+ ?ms for a (test|hook)`, "Jest test exceeded its timeout", "A test or hook did not finish in time, often an unresolved promise or a missing done().", "Make sure the test awaits its promises or calls done(); raise the timeout with jest.setTimeout only if the work is slow by design."),
	rule("timeout.mocha", CategoryTimeout, 0.85, `Timeout of \d+ms exceeded`, "Mocha test exceeded its timeout", "A test did not finish in time.", remTimeout),
	rule("timeout.surefire", CategoryTimeout, 0.85, `There was a timeout in the fork|Timeout elapsed|timed out after \d+ (seconds|ms|milliseconds)`, "Test run timed out", "A test or fork exceeded its time limit.", remTimeout),
	rule("timeout.cargo", CategoryTimeout, 0.6, `has been running for over 60 seconds`, "Rust test running for over 60 seconds", "A test is very slow or hung.", remTimeout),
	rule("timeout.deadline", CategoryTimeout, 0.6, `context deadline exceeded|DeadlineExceeded|deadline exceeded`, "Deadline exceeded", "An operation did not finish before its deadline.", remTimeout),
	rule("timeout.operation-canceled", CategoryTimeout, 0.5, `The operation was canceled`, "Operation canceled (job timeout or cancellation)", "GitHub Actions cancels a job at its timeout-minutes.", remTimeout),
	rule("timeout.generic", CategoryTimeout, 0.45, `(?i)\btimed out\b|\bTimeoutError\b|\btimeout exceeded\b`, "Operation timed out", "Something did not finish in time.", remTimeout),
}

var diskRules = []Rule{
	rule("disk.enospc", CategoryDisk, 0.97, `(?i)no space left on device|\bENOSPC\b`, "Disk full: no space left on device", "The runner's disk (or the container's writable layer) is full.", remDisk),
	rule("disk.quota", CategoryDisk, 0.95, `(?i)disk quota exceeded|\bEDQUOT\b|not enough (free )?(disk )?space|There is not enough space on the disk|insufficient disk space|out of disk space`, "Disk full", "The disk or a quota ran out of room.", remDisk),
	rule("disk.write-failed", CategoryDisk, 0.7, `(?i)write error: no space|failed to write .*: no space|IOError: \[Errno 28\]|OSError: \[Errno 28\]`, "Disk full while writing", "A write failed for lack of space.", remDisk),
}
