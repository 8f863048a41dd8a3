package main

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
)

// Every sentinel process runs every package's init, so work done there is
// paid by `sentinel help`, `sentinel version` and an idle server alike (the
// built-in triage rules once cost 0.3 s of CPU and 41 MB there). The test
// binary links the same packages; run it with no test and read the runtime's
// own account of each init, in bytes allocated (deterministic, unlike time).
func TestPackageInitsAreCheap(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("re-running the test binary: %v\n%s", err, out)
	}
	line := regexp.MustCompile(`(?m)^init (\S+) @[^,]*, [^,]*, (\d+) bytes, (\d+) allocs$`)
	const maxBytes = 4 << 20
	seen := 0
	for _, m := range line.FindAllStringSubmatch(string(out), -1) {
		seen++
		bytes, _ := strconv.Atoi(m[2])
		if bytes > maxBytes {
			t.Errorf("init of %s allocates %d bytes (%s allocs), more than %d: defer the work to first use", m[1], bytes, m[3], maxBytes)
		}
	}
	if seen < 10 {
		t.Fatalf("found %d init lines in the runtime's trace, expected many:\n%s", seen, out)
	}
}
