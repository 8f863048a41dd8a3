package calc

import (
	"fmt"
	"testing"
)

// equal prints a failure the way testify's assert.Equal does, with the
// standard library only.
func equal(t *testing.T, expected, actual any) bool {
	t.Helper()
	if expected == actual {
		return true
	}
	t.Errorf("\n\tError Trace:\tcalc_test.go\n\tError:      \tNot equal: \n\t            \texpected: %#v\n\t            \tactual  : %#v\n\t            \t\n\t            \tDiff:\n\t            \t--- Expected\n\t            \t+++ Actual\n\t            \t@@ -1 +1 @@\n\t            \t-%v\n\t            \t+%v\n\tTest:       \t%s", expected, actual, expected, actual, t.Name())
	return false
}

func TestAdd(t *testing.T) {
	t.Logf("adding numbers")
	equal(t, 4, Add(2, 2))
}

func TestName(t *testing.T) {
	got := Name(1)
	if got != "user-a" {
		t.Fatalf("\nName(1) mismatch:\n  got:  %q\n  want: %q", got, "user-a")
	}
}

func TestTable(t *testing.T) {
	cases := []struct{ name string; a, b, want int }{
		{"valid/small/one", 1, 1, 2},
		{"valid/small/two", 2, 0, 2},
		{"invalid/neg", -1, 1, 0},
	}
	t.Logf("running %d cases", len(cases))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Logf("case %s", c.name)
			if got := Add(c.a, c.b); got != c.want {
				t.Errorf("Add(%d, %d) = %d, want %d", c.a, c.b, got, c.want)
			}
		})
	}
}

func TestPasses(t *testing.T) { fmt.Sprint("ok") }
