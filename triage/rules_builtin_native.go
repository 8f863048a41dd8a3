package triage

// Rules for ecosystems outside the language toolchains: native code and
// its linkers, system package managers, Ruby, infrastructure tools and
// plain downloads from build scripts.

const remSystemPackage = "Check the package name exists for this distribution release and repository set (dnf/apt/apk search), enable the repository that provides it, or fix the version constraint."

var nativeCompileRules = []Rule{
	// A prerequisite make cannot build is a source file the build expects
	// and nobody generated or committed.
	rule("compile.make-prerequisite", CategoryCompile, 0.75, `No rule to make target [`+"`"+`']([^']+)', needed by`, "Build input missing: $1", "make needs a file no rule produces (a source not committed, or a generated file whose rule is missing).", "Commit the file or add the rule that generates it; check for a renamed or deleted source the Makefile still lists."),
	rule("compile.link", CategoryCompile, 0.87, `undefined reference to |ld returned \d+ exit status|linker command failed with exit code|ld: cannot find -l\S+|multiple definition of |ld: library not found for|Undefined symbols? for architecture`, "Link error", "The objects do not link: a symbol is missing (library not linked, declaration without definition) or defined twice.", "Link the library that defines the symbol (target_link_libraries, -l), add the missing definition, or remove the duplicate."),
}

var systemPackageRules = []Rule{
	rule("dep.rpm", CategoryDependency, 0.9, `No match for argument: (\S+)|Error: Unable to find a match|nothing provides (\S+)|Problem( \d+)?: conflicting requests|Failed build dependencies|is needed by \S+|^Error: Package: (\S+)|conflicts with file from package|No matching package to install: '([^']+)'|Not all dependencies satisfied`, "System package could not be installed: $1$2$3$4", "dnf/yum could not find or resolve a package (wrong name, repository not enabled, or a dependency no repository provides).", remSystemPackage),
	rule("dep.apt-resolve", CategoryDependency, 0.85, `Unable to locate package (\S+)|have unmet dependencies|Unable to correct problems, you have held broken packages|has no installation candidate`, "System package could not be installed: $1", "apt could not find or resolve a package (stale index, wrong name or distribution).", remSystemPackage),
	rule("dep.apk", CategoryDependency, 0.85, `ERROR: unable to select packages|\((?:no such package)\)`, "System package could not be installed", "apk could not find a package in the configured repositories.", remSystemPackage),
}

var rubyRules = []Rule{
	rule("dep.bundler-resolve", CategoryDependency, 0.85, `Could not find compatible versions|version solving has failed|Bundler could not find compatible versions`, "Ruby gems could not be resolved", "The Gemfile asks for gem versions that conflict with each other.", "Relax or align the conflicting version constraints in the Gemfile and run bundle lock locally."),
	rule("test.minitest", CategoryTest, 0.82, `^\s*\d+\) (Failure|Error):$`, "Ruby test failed ($1)", "A minitest test failed.", remTest),
}

var downloadRules = []Rule{
	// A resolver that gives up because the network failed names the
	// network on the same line as the artifact; such lines outrank the
	// dependency rules, which would blame the artifact.
	rule("net.fetch-failed", CategoryNetwork, 0.93, `Could not transfer artifact .* (?:Connect to .* failed|Connection reset|Read timed out|Network is unreachable|Connection timed out|[Cc]onnect timed out)|Connect to \S+(?: \[[^\]]*\])? failed: (?:Connection|Connect|Read) timed out|E: Failed to fetch .*(?:Temporary failure resolving|Could not resolve|Connection timed out|Connection failed|Could not connect)|Temporary failure resolving|Curl error \(\d+\): (?:Timeout was reached|Couldn't resolve host|Couldn't connect)|Cannot prepare internal mirrorlist|Failed to download metadata for repo|Net::OpenTimeout|Net::ReadTimeout|Failed to open TCP connection|Client\.Timeout exceeded while awaiting headers|request canceled while waiting for connection`, "Download failed on the network", "A package manager could not reach its repository or mirror.", remNetwork),
	rule("net.dns-lookup", CategoryNetwork, 0.9, `dial tcp: lookup \S+.*(?:i/o timeout|no such host|server misbehaving)`, "DNS lookup failed", "A host name could not be resolved.", remNetwork),
	rule("net.dns-tool", CategoryNetwork, 0.9, `unable to resolve host address|could not translate host name|Could not resolve hostname|Name does not resolve|getaddrinfo failed`, "DNS lookup failed: host not found", "A host name could not be resolved.", remNetwork),
	rule("net.curl", CategoryNetwork, 0.85, `^curl: \((\d+)\) (.*)`, "Download failed (curl $1): $2", "A download in the build script failed.", "Check the URL (version, file name, release asset) and that the server is reachable; use curl --retry for transient errors."),
	rule("net.wget", CategoryNetwork, 0.85, `\bERROR (\d{3}): (.*)`, "Download failed (HTTP $1): $2", "A download in the build script failed.", "Check the URL (version, file name, release asset) and that the server is reachable."),
}

var toolConfigRules = []Rule{
	rule("config.improperly-configured", CategoryConfiguration, 0.8, `ImproperlyConfigured: |Set the \S+ environment variable`, "Application configuration missing: $0", "The application refuses to start without a setting the step does not provide.", "Provide the setting (an environment variable or secret in .sentinel.yml), or give the application a default for CI."),
	rule("config.cmake", CategoryConfiguration, 0.85, `^CMake Error at (\S+):(\d+)|^CMake Error: (.*)`, "CMake configuration error", "CMake could not configure the project (a package, tool or variable it needs is missing).", "Install the package CMake looks for in the image (or point CMAKE_PREFIX_PATH at it), or fix CMakeLists.txt at the line shown."),
	// Without "needed by" the target was asked for by name: the command
	// names a target the Makefile does not have.
	rule("config.make-target", CategoryConfiguration, 0.7, `No rule to make target [`+"`"+`']([^']+)'\.\s+Stop\.`, "make has no target $1", "The step asks make for a target the Makefile does not define.", "Fix the target name in the command, or add the target to the Makefile."),
	// The spec file and the build disagree: %files lists what %install did
	// not make (or the reverse), a Source is missing, a patch no longer
	// applies to the sources.
	rule("config.rpm-spec", CategoryConfiguration, 0.85, `Installed \(but unpackaged\) file\(s\) found|File not found(?: by glob)?: (/\S+)|Directory not found: (/\S+)|Bad source: (\S+?):|Empty %files file (\S+)`, "RPM spec and build disagree: $0", "rpmbuild found files the spec's %files does not list, or a file, source or directory the spec names is missing.", "Make %files match what %install puts in the buildroot (or fix %install); check Source/Patch names against the files shipped with the spec."),
	rule("config.patch", CategoryConfiguration, 0.85, `\d+ out of \d+ hunks? FAILED|^Hunk #\d+ FAILED at \d+|Reversed \(or previously applied\) patch detected`, "A patch does not apply", "The sources changed under a patch the build applies.", "Rebase the patch on the current sources (or drop it if upstream has the change)."),
	rule("config.k8s-manifest", CategoryConfiguration, 0.8, `error validating data: |ValidationError\(\S+\): |no matches for kind "[^"]+" in version`, "Kubernetes manifest rejected", "kubectl or Helm rejected a manifest: an unknown field, a wrong type, or an API version the cluster does not serve.", "Fix the manifest or chart template at the field named (kubectl apply --dry-run=server reproduces it), or move to the API version the cluster serves."),
	rule("config.terraform", CategoryConfiguration, 0.8, `^│ Error: (.*)`, "Terraform error: $1", "Terraform rejected the configuration.", "Fix the configuration at the file and line shown (terraform validate reproduces it locally)."),
}

// summaryRules match the counts and verdict lines a build tool or test
// runner prints after the failures: they point at the category but never
// outrank the assertion, exception or trace above them.
var summaryRules = []Rule{
	rule("test.summary", CategoryTest, 0.6, `Tests run: \d+, Failures: [1-9]|Tests run: \d+, Failures: \d+, Errors: [1-9]|There are test failures|\[ERROR\] Failed tests:|\[ERROR\] Tests in error:|Tests? FAILED|[1-9]\d* tests completed, [1-9]\d* failed|There were failing tests|Tests:\s+\d+ failed|Test Suites: \d+ failed|\d+ failing$|Ran \d+ tests? .*|^FAILED \(failures=\d+|\d+ examples?, [1-9]\d* failures?|^rspec \./\S+:\d+|test result: FAILED|error: test failed, to rerun pass|\d+ runs, \d+ assertions, (?:[1-9]\d* failures|\d+ failures, [1-9]\d* errors)|^The following tests FAILED:|Errors while running CTest|\d+% tests passed, [1-9]\d* tests? failed|=+ .*[1-9]\d* (?:failed|errors?).* =+`, "Tests failed", "The test runner's summary reports failures; the failures themselves are above it.", remTest),
	// rpmbuild names the spec section that failed; the section's own
	// output above says why, so this only decides when nothing else does.
	rule("test.rpm-check", CategoryTest, 0.45, `Bad exit status from \S+ \(%check\)`, "RPM %check (tests) failed", "The package's test section failed during rpmbuild.", remTest),
	rule("compile.rpm-build", CategoryCompile, 0.45, `Bad exit status from \S+ \(%build\)`, "RPM %build failed", "The package's build section failed during rpmbuild.", "Read the compiler or build-tool error above this line; reproduce with rpmbuild -bc or mock."),
	rule("compile.gradle-task", CategoryCompile, 0.6, `Execution failed for task '\S*:compile\w*'`, "Compilation failed", "Gradle's summary of a failed compile task; the compiler's errors are above it.", remCompile),
	rule("test.ctest", CategoryTest, 0.8, `Test\s+#\d+: (\S+) \.+\s*\*+(?:Failed|Exception|Timeout|Not Run)`, "C/C++ test failed: $1", "A CTest test failed.", remTest),
}
