package triage

import (
	"fmt"
	"io"
	"strings"
	"testing"
)

// junitDoc streams a JUnit document of n cases, every failEvery-th one failing.
func junitDoc(n, failEvery int) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		fmt.Fprint(pw, `<?xml version="1.0"?><testsuites><testsuite name="s">`)
		for i := range n {
			if failEvery > 0 && i%failEvery == failEvery-1 {
				fmt.Fprintf(pw, `<testcase classname="c" name="t%d"><failure message="boom %d"/></testcase>`, i, i)
				continue
			}
			fmt.Fprintf(pw, `<testcase classname="c" name="t%d"/>`, i)
		}
		fmt.Fprint(pw, `</testsuite></testsuites>`)
		pw.Close()
	}()
	return pr
}

// TestParseJUnitMaxKeepsFailuresFirst: past the cap, passes are dropped
// before failures, the kept cases stay in file order, and the count of
// dropped cases is told.
func TestParseJUnitMaxKeepsFailuresFirst(t *testing.T) {
	res, err := ParseJUnitMax(junitDoc(10000, 97), 500)
	if err != nil {
		t.Fatal(err)
	}
	fails := 0
	last := -1
	for _, tc := range res.Tests {
		var i int
		fmt.Sscanf(tc.Name, "t%d", &i)
		if i <= last {
			t.Fatalf("cases out of order: t%d after t%d", i, last)
		}
		last = i
		if tc.Outcome == OutcomeFail {
			fails++
		}
	}
	if len(res.Tests) != 500 || res.Dropped != 9500 || fails != 10000/97 {
		t.Errorf("kept %d, dropped %d, failures kept %d; want 500, 9500, %d", len(res.Tests), res.Dropped, fails, 10000/97)
	}
	all, err := ParseJUnit(junitDoc(1000, 0))
	if err != nil || len(all.Tests) != 1000 || all.Dropped != 0 {
		t.Errorf("uncapped: %d cases, %d dropped, %v", len(all.Tests), all.Dropped, err)
	}
}

func TestCapTestsMoreFailuresThanCap(t *testing.T) {
	var tests []TestCase
	for i := range 10 {
		o := OutcomeFail
		if i%2 == 0 {
			o = OutcomePass
		}
		tests = append(tests, TestCase{Name: fmt.Sprint(i), Outcome: o})
	}
	kept, dropped := CapTests(tests, 3)
	var names []string
	for _, tc := range kept {
		names = append(names, tc.Name)
	}
	if got := strings.Join(names, ","); got != "1,3,5" || dropped != 7 {
		t.Errorf("kept %s dropped %d, want 1,3,5 and 7", got, dropped)
	}
}
