package triage

import (
	"bufio"
	"bytes"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinel-ci/sentinel/triage/internal/normref"
)

// The fast normaliser must give byte-identical output to the frozen
// reference (the multi-pass normaliser it replaced) on every line of every
// file under testdata, on the generated template corpus and mixed log, and
// on random text built from the bytes the rules look at.
func TestNormalizeMatchesReference(t *testing.T) {
	t.Parallel()
	check := func(where, s string) {
		t.Helper()
		want := normref.Normalize(s)
		if got := Normalize(s); got != want {
			t.Fatalf("%s: Normalize(%q)\n got %q\nwant %q", where, s, got, want)
		}
	}
	// Where the fast normaliser's shortcuts meet: a stamp before text, a
	// rule's hint made or unmade by an earlier rule.
	for _, s := range []string{
		"2024-05-02T10:11:20.5Z 3 seconds", "2024-05-02 10:11 seconds later", "2024-05-02T10:11:20Z\t", "2024-05-02T10:11:20Z  ",
		"2024-05-02T10:11:20.123456789-0700 exit code 2", "2024-05-02T10:11:20Z [::1]:80 map[b:1 a:2]",
		"/tmp/ <tmp>/b12 x", "x/tmp/work/x /home/u/actions-runner/_work/a/b/c", "x/h/github/workspace/ome/u/y",
		`C:\a\b\c\Users\x\y /home/q/z`, "v1.2.3-rc.4 10-20-30 1.2.3.4.5",
	} {
		check("edge", s)
	}
	lines := 0
	err := filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, l := range bytes.Split(data, []byte("\n")) {
			check(path, string(l))
			lines++
		}
		// Whole small files too: multi-line text, carriage returns.
		if len(data) < 4096 {
			check(path, string(data))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if lines < 10000 {
		t.Fatalf("only %d testdata lines: the walk missed the corpus", lines)
	}
	sc := bufio.NewScanner(bytes.NewReader(fingerprintLog(t, 2<<20)))
	for sc.Scan() {
		check("fingerprintLog", sc.Text())
	}
	r := rand.New(rand.NewPCG(4, 17))
	alphabets := []string{
		"0123456789abcdefABCDEFxX-_.:/ \t",
		"0123456789::..,, \tZAPMTJanFebDecmsuhn-/+",
		"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-./+=[]: \"'()<>\\\r\n\x1b\x07;?µé",
		"0123456789aeioubcdfgkmnpqrstvwxz-._ ",
	}
	words := []string{"/tmp/", "/home/runner/work/a/b/", "/Users/x/", "map[", "0x", "HTTP/1.1 ", "exit code ", "status ",
		"2024-05-02T10:11:20.5Z", "Dec  5 ", "05/Dec/2026:", "ms", "seconds", "<n>", "<hex>", "[::1]:80", "10.0.0.1:443",
		"C:\\Users\\x\\AppData\\Local\\Temp\\y", "/var/folders/ab/cd/T/", "/go/src/a/b/c/", "\x1b[31m", "blk_-12", "pod-7d9f8b6c4-x2kqz",
		"ip-10-0-3-17.ec2.internal", " ", ".", "-", "_"}
	for n := range 300000 {
		alpha := alphabets[n%len(alphabets)]
		var b strings.Builder
		for k := 1 + r.IntN(60); k > 0; k-- {
			if r.IntN(6) == 0 {
				b.WriteString(words[r.IntN(len(words))])
			} else {
				b.WriteByte(alpha[r.IntN(len(alpha))])
			}
		}
		check("random", b.String())
	}
	// Long lines exercise the cut and re-normalise loop.
	for range 300 {
		var b strings.Builder
		for b.Len() < 2500+r.IntN(2000) {
			b.WriteString(words[r.IntN(len(words))])
			b.WriteString(alphabets[2][r.IntN(40):][:3])
		}
		check("long", b.String())
	}
}
