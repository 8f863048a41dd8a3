package triage

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The compiler indents what it knows beyond the first line of a diagnostic
// (have/want of a return, the candidates of an ambiguous selector): it is
// part of the raw message people read, in plain and JSON output alike.
// Both outputs are what go1.26 printed for the same package.
func TestGoDiagnosticDetail(t *testing.T) {
	t.Parallel()
	text := "# example.com/demo/b\n" +
		"b/b.go:3:23: too many return values\n\thave (number)\n\twant ()\n" +
		"b/b.go:5:35: not enough return values\n\thave (number)\n\twant (int, error)\n"
	json := `{"ImportPath":"example.com/demo/b [example.com/demo/b.test]","Action":"build-output","Output":"# example.com/demo/b [example.com/demo/b.test]\n"}
{"ImportPath":"example.com/demo/b [example.com/demo/b.test]","Action":"build-output","Output":"b/b.go:3:23: too many return values\n"}
{"ImportPath":"example.com/demo/b [example.com/demo/b.test]","Action":"build-output","Output":"\thave (number)\n"}
{"ImportPath":"example.com/demo/b [example.com/demo/b.test]","Action":"build-output","Output":"\twant ()\n"}
{"ImportPath":"example.com/demo/b [example.com/demo/b.test]","Action":"build-output","Output":"b/b.go:5:35: not enough return values\n"}
{"ImportPath":"example.com/demo/b [example.com/demo/b.test]","Action":"build-output","Output":"\thave (number)\n"}
{"ImportPath":"example.com/demo/b [example.com/demo/b.test]","Action":"build-output","Output":"\twant (int, error)\n"}
{"ImportPath":"example.com/demo/b [example.com/demo/b.test]","Action":"build-fail"}
{"Time":"2026-12-06T00:54:59.912651678Z","Action":"start","Package":"example.com/demo/b"}
{"Time":"2026-12-06T00:54:59.912725898Z","Action":"output","Package":"example.com/demo/b","Output":"FAIL\texample.com/demo/b [build failed]\n"}
{"Time":"2026-12-06T00:54:59.912732488Z","Action":"fail","Package":"example.com/demo/b","Elapsed":0,"FailedBuild":"example.com/demo/b [example.com/demo/b.test]"}
`
	type got struct {
		File, Title, Message string
		Line                 int
	}
	want := []got{
		{"b/b.go", "b/b.go:3: too many return values", "too many return values\n\thave (number)\n\twant ()", 3},
		{"b/b.go", "b/b.go:5: not enough return values", "not enough return values\n\thave (number)\n\twant (int, error)", 5},
	}
	for name, step := range map[string]StepInput{
		"text": {Facts: StepFacts{Step: "build", State: StepFailed, ExitCode: 1}, Log: strings.NewReader(text)},
		"json": {Facts: StepFacts{Step: "test", State: StepFailed, ExitCode: 1}, Log: strings.NewReader(json)},
	} {
		if name == "json" {
			r, err := ParseGoTestJSON(strings.NewReader(json))
			if err != nil {
				t.Fatal(err)
			}
			step.Results = r
		}
		fs, err := Analyze([]StepInput{step}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var gots []got
		for _, f := range fs {
			gots = append(gots, got{f.File, f.Title, f.Message, f.Line})
		}
		if diff := cmp.Diff(want, gots); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}
