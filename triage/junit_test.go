package triage

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseJUnitEcosystems(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		xml  string
		want []TestCase
	}{
		{"surefire", `<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="com.acme.CartTest" tests="2" failures="1" errors="0" skipped="0">
  <testcase name="total" classname="com.acme.CartTest" time="0.012">
    <failure message="expected: &lt;9&gt; but was: &lt;10&gt;" type="org.opentest4j.AssertionFailedError">org.opentest4j.AssertionFailedError: expected: &lt;9&gt; but was: &lt;10&gt;
	at com.acme.CartTest.total(CartTest.java:31)</failure>
  </testcase>
  <testcase name="empty" classname="com.acme.CartTest" time="0.001"/>
</testsuite>`, []TestCase{
			{Package: "com.acme.CartTest", Name: "total", Attempt: 1, Outcome: OutcomeFail, Duration: 12 * time.Millisecond,
				File: "CartTest.java", Line: 31, Message: "expected: <9> but was: <10>",
				Output: "org.opentest4j.AssertionFailedError: expected: <9> but was: <10>\n\tat com.acme.CartTest.total(CartTest.java:31)\n"},
			{Package: "com.acme.CartTest", Name: "empty", Attempt: 1, Outcome: OutcomePass, Duration: time.Millisecond},
		}},
		{"jest-junit with ANSI and error", "<testsuites name=\"jest tests\"><testsuite name=\"Cart\"><testcase classname=\"Cart renders\" name=\"Cart renders\" time=\"0.5\"><error message=\"\x1b[31mTypeError\x1b[0m: x is undefined\"/></testcase></testsuite></testsuites>", []TestCase{
			{Package: "Cart renders", Name: "Cart renders", Attempt: 1, Outcome: OutcomeError, Duration: 500 * time.Millisecond,
				Message: "\uFFFD[31mTypeError\uFFFD[0m: x is undefined"},
		}},
		{"invalid utf-8 and latin-1 declaration", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><testsuite><testcase name=\"caf\xe9\"><skipped/></testcase></testsuite>", []TestCase{
			{Name: "caf\uFFFD", Attempt: 1, Outcome: OutcomeSkip},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := ParseJUnit(strings.NewReader(tc.xml))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, res.Tests); diff != "" {
				t.Errorf("tests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseJUnitErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", "empty input"},
		{"  \n", "empty input"},
		{"hello", "not XML"},
		{"<html><body/></html>", "root element is <html>"},
		{"<testsuite><testcase name='a'>", "unexpected EOF"},
		{"<testsuite><testcase></testsuite>", "line 1"},
	} {
		_, err := ParseJUnit(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseJUnit(%q) error = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestParseGoTestJSONBoundsOutput(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`{"Action":"run","Package":"p","Test":"TestBig"}` + "\n")
	for range 10000 {
		b.WriteString(`{"Action":"output","Package":"p","Test":"TestBig","Output":"    big_test.go:7: a line of output that repeats\n"}` + "\n")
	}
	b.WriteString(`{"Action":"fail","Package":"p","Test":"TestBig","Elapsed":1.5}` + "\n")
	res, err := ParseGoTestJSON(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	tc := res.Tests[0]
	if len(tc.Output) > MaxTestOutput || tc.Outcome != OutcomeFail || tc.Duration != 1500*time.Millisecond || tc.File != "big_test.go" || tc.Line != 7 {
		t.Errorf("test = %+v (output %d bytes)", tc, len(tc.Output))
	}
}

func TestParseGoTestJSONSubtestsAndRace(t *testing.T) {
	t.Parallel()
	in := strings.Join([]string{
		`{"Action":"run","Package":"p","Test":"TestA"}`,
		`{"Action":"run","Package":"p","Test":"TestA/sub"}`,
		`{"Action":"output","Package":"p","Test":"TestA/sub","Output":"WARNING: DATA RACE\n"}`,
		`{"Action":"output","Package":"p","Test":"TestA/sub","Output":"Write at 0x00c000012345 by goroutine 8:\n"}`,
		`{"Action":"output","Package":"p","Test":"TestA/sub","Output":"  p.(*Counter).Inc()\n"}`,
		`{"Action":"output","Package":"p","Test":"TestA/sub","Output":"      /src/p/counter.go:12 +0x44\n"}`,
		`{"Action":"output","Package":"p","Test":"TestA/sub","Output":"    testing.go:1465: race detected during execution of test\n"}`,
		`{"Action":"fail","Package":"p","Test":"TestA/sub"}`,
		`{"Action":"fail","Package":"p","Test":"TestA"}`,
		`not json: exit status 1`,
		`{"Action":"fail","Package":"p"}`,
	}, "\n")
	res, err := ParseGoTestJSON(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tests) != 2 || res.Tests[1].Parent != "TestA" || res.Tests[1].Outcome != OutcomeFail {
		t.Fatalf("tests = %+v", res.Tests)
	}
	if len(res.Problems) != 1 || res.Problems[0].Kind != ProblemRace || res.Problems[0].Test != "TestA/sub" {
		t.Fatalf("problems = %+v", res.Problems)
	}
	if res.NonJSONCount != 1 || res.NonJSON[0].Line != 10 {
		t.Errorf("non-JSON = %+v", res.NonJSON)
	}
	fs, err := Analyze([]StepInput{{Facts: StepFacts{ExitCode: 1}, Results: res}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].Category != CategoryTest || !strings.Contains(fs[0].Title, "data race in TestA/sub") {
		t.Fatalf("failures = %+v", fs)
	}
}

func TestParseJUnitCutsHugeTextNodes(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("log line with &amp; entity and ünïcode\n", 120000) // ~4.8 MB
	doc := `<testsuite name="s"><testcase classname="c" name="t"><failure message="boom">` + big +
		`</failure><system-out><![CDATA[` + strings.Repeat("x<y ", 10) + strings.Repeat("z", 3<<20) + `]]></system-out></testcase>` +
		`<testcase classname="c" name="u" time="1"/></testsuite>`
	res, err := ParseJUnit(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tests) != 2 || res.Tests[0].Outcome != OutcomeFail || res.Tests[0].Message != "boom" || res.Tests[1].Duration != time.Second {
		t.Fatalf("tests = %+v", res.Tests)
	}
	if len(res.Tests[0].Output) > 2*MaxTestOutput {
		t.Errorf("output is %d bytes", len(res.Tests[0].Output))
	}
}
