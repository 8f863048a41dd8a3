package triage

import (
	"strings"
	"testing"
)

// A step stopped at its timeout names the test that never ended (not the
// last line that happened to match), and clusters by it.
func TestTimeoutNamesTheHungTest(t *testing.T) {
	stream := func(suffix string) string {
		return strings.Join([]string{
			`{"Action":"start","Package":"example.com/hc"}`,
			`{"Action":"run","Package":"example.com/hc","Test":"TestCheckHealthy"}`,
			`{"Action":"output","Package":"example.com/hc","Test":"TestCheckHealthy","Output":"=== RUN   TestCheckHealthy\n"}`,
			`{"Action":"pass","Package":"example.com/hc","Test":"TestCheckHealthy","Elapsed":0.01}`,
			`{"Action":"run","Package":"example.com/hc","Test":"TestCheckStalledPeer"}`,
			`{"Action":"run","Package":"example.com/hc","Test":"TestCheckStalledPeer/slow_` + suffix + `"}`,
			`{"Action":"output","Package":"example.com/hc","Test":"TestCheckStalledPeer","Output":"=== RUN   TestCheckStalledPeer\n"}`,
		}, "\n") + "\n"
	}
	analyze := func(suffix string) Failure {
		t.Helper()
		res, err := ParseGoTestJSON(strings.NewReader(stream(suffix)))
		if err != nil {
			t.Fatal(err)
		}
		fs, err := Analyze([]StepInput{{Facts: StepFacts{Step: "test", TimedOut: true, ExitCode: -1},
			Log: strings.NewReader(stream(suffix)), Results: res}}, Options{})
		if err != nil || len(fs) == 0 {
			t.Fatalf("failures %v, err %v", fs, err)
		}
		return fs[0]
	}
	f := analyze("peer")
	if f.Category != CategoryTimeout || !strings.Contains(f.Title, "TestCheckStalledPeer/slow_peer") {
		t.Errorf("title %q (category %s), want the hung subtest named", f.Title, f.Category)
	}
	if f.TestID != TestID("example.com/hc", "TestCheckStalledPeer/slow_peer") {
		t.Errorf("test id %q", f.TestID)
	}
	if analyze("peer").Fingerprint != f.Fingerprint {
		t.Error("the same hang must fingerprint the same")
	}
	if analyze("link").Fingerprint == f.Fingerprint {
		t.Error("a different hung test must not share the fingerprint")
	}
}
