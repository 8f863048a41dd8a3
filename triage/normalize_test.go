package triage

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"2024-05-02T10:11:20.5555556Z ##[error]boom", "<time> ##[error]boom"},
		{"request 3f2504e0-4f89-11d3-9a0c-0305e82c3301 failed", "request <uuid> failed"},
		{"dial tcp 10.1.2.3:5432: connect: connection refused", "dial tcp <ip>: connect: connection refused"},
		{"dial tcp [::1]:8080: i/o timeout", "dial tcp <ip>: i/o timeout"},
		{"--- FAIL: TestX (0.42s)", "--- FAIL: TestX (<dur>)"},
		{"took 2m30.5s and 150ms", "took <dur> and <dur>"},
		{"goroutine 33 [running]:", "goroutine <n> [running]:"},
		{"main.(*T).Run(0xc000083040, {0x5be88c?, 0x4ce6c5?})", "main.(*T).Run(0x<hex>, {0x<hex>?, 0x<hex>?})"},
		{"open /tmp/go-build3984712/b001/x.test: no such file", "open <tmp>/b<n>/x.test: no such file"},
		{"/home/runner/work/shop/shop/cart.go:12:3: undefined: x", "cart.go:<n>:<n>: undefined: x"},
		{"/home/alice/src/shop/cart.go:12:3: undefined: x", "~/src/shop/cart.go:<n>:<n>: undefined: x"},
		{`D:\a\shop\shop\src\Cart.cs(12,5): error CS0103`, `src\Cart.cs(<n>): error CS0103`},
		{"image sha256:3f909e363d82aa91 not found", "image sha256:<hex> not found"},
		{"got map[b:2 a:1 c:3], want map[a:1]", "got map[a:<n> b:<n> c:<n>], want map[a:<n>]"},
		{"\x1b[31mFAIL\x1b[0m  src/a.test.ts", "FAIL src/a.test.ts"},
		{"Downloading  10%\rDownloading 100%", "Downloading <n>%"},
		{"error[E0425]: cannot find value `x`", "error[E0425]: cannot find value `x`"},
		{"error TS2339: Property 'a' does not exist", "error TS2339: Property 'a' does not exist"},
		{"deadbeef accede facade", "deadbeef accede facade"},
		{"at 14:03:59 on 2024/01/31", "at <time> on <date>"},
		{"  lots   of\tspace  ", "lots of space"},
		// Identifiers glued to words (issue #17).
		{"Receiving block blk_-1608999687919862906", "Receiving block blk_<n>"},
		{"Deleting block blk_38865049064139660", "Deleting block blk_<n>"},
		{`job "job_20260105_0412" lost worker node-17`, `job "job_<n>_<n>" lost worker node-<n>`},
		{"pod/web-7d9f8b6c4-x2kqz Back-off", "pod/web-<hex>-<id> Back-off"},
		{"pod/api-mdsbbgh7df-28b9f and api-hqzcpgbbxw-xkqzb", "pod/api-<id>-<id> and api-<id>-<id>"},
		{"sshd on web01 and node12a, not bastion7", "sshd on <id> and <id>, not bastion7"},
		{"runner ip-10-1-2-3.ec2.internal was canceled.", "runner <host> was canceled."},
		{"lookup app7.prod.example.com: no such host", "lookup <host>: no such host"},
		{"GET /api/v1/orders/3f2504e0-4f89-11d3-9a0c-0305e82c3301/items", "GET /api/v1/orders/<uuid>/items"},
		{"Error: Process completed with exit code 137.", "Error: Process completed with exit code 137."},
		{"exit status 2; killed by signal 9", "exit status 2; killed by signal 9"},
		{`"GET /x HTTP/1.1" 404 512`, `"GET /x HTTP/<n>" 404 <n>`},
		{"cannot use x (type int64) as uint32 in sha256 over ssh2", "cannot use x (type int64) as uint32 in sha256 over ssh2"},
		{"error[E0425] TS2304 base64Encode 64kB", "error[E0425] TS2304 base64Encode <n>kB"},
		{"Dec  5 22:31:08 web01 sshd[42]: x", "<time> <id> sshd[<n>]: x"},
		{`[05/Dec/2026:22:31:08 +0000] "GET /`, `[<time>] "GET /`},
		{"key RSA SHA256:ZNbDF53l/Rb5bJ6n+CBZniemM78423Uxlc4m+8tx0xJ ok", "key RSA SHA256:<blob> ok"},
		{"at src/main/java/com/acme/NullPointerHandler2.java", "at src/main/java/com/acme/NullPointerHandler2.java"},
		{"read 0001_init.sql and lib.test.js", "read <n>_init.sql and lib.test.js"},
	}
	for _, tc := range cases {
		if got := Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// corpusLines returns every line of the test logs and the shared fixtures,
// the realistic material the idempotence property is checked on.
func corpusLines(t *testing.T) []string {
	t.Helper()
	var lines []string
	files, _ := filepath.Glob(filepath.Join("testdata", "logs", "*.log"))
	more, _ := filepath.Glob(filepath.Join(fixtureDir(t, "test-output"), "go-test-json", "gotestsum", "*"))
	files = append(files, more...)
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		fh.Close()
	}
	return lines
}

func TestNormalizeIsIdempotent(t *testing.T) {
	t.Parallel()
	lines := corpusLines(t)
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "Z", "0", "9", "f", "x", ".", ":", "/", "-", " ", "\t", "\r", "\x1b[1m", "[", "]", "map[", "<", ">", "µs", "s", "ms", "0x", "é", "\xff", "T", "Z", "_"}
	for range 3000 {
		var b strings.Builder
		for range rng.IntN(40) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		lines = append(lines, b.String())
	}
	for _, l := range lines {
		once := Normalize(l)
		if twice := Normalize(once); twice != once {
			t.Errorf("not idempotent for %q:\n once: %q\ntwice: %q", l, once, twice)
		}
	}
}

// randomValues produce the values normalisation must ignore, each a fresh
// value per call, as a new run on another machine another day would print.
var randomValues = map[string]func(r *rand.Rand) string{
	"uuid": func(r *rand.Rand) string {
		return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", r.Uint32(), r.IntN(1<<16), r.IntN(1<<16), r.IntN(1<<16), r.Uint64()&(1<<48-1))
	},
	"time": func(r *rand.Rand) string {
		return fmt.Sprintf("%02d:%02d:%02d.%03d", r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1000))
	},
	"datetime": func(r *rand.Rand) string {
		return fmt.Sprintf("20%02d-%02d-%02dT%02d:%02d:%02dZ", r.IntN(40), 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60))
	},
	"ipport": func(r *rand.Rand) string {
		return fmt.Sprintf("%d.%d.%d.%d:%d", r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(256), 1024+r.IntN(60000))
	},
	"addr":     func(r *rand.Rand) string { return fmt.Sprintf("0xc%09x", r.Uint64()&(1<<36-1)) },
	"hexid":    func(r *rand.Rand) string { return fmt.Sprintf("%012x", r.Uint64()&(1<<48-1)|1<<44|0xa) },
	"duration": func(r *rand.Rand) string { return fmt.Sprintf("%d.%02ds", r.IntN(100), r.IntN(100)) },
	"count":    func(r *rand.Rand) string { return fmt.Sprint(r.IntN(100000)) },
	"tmp": func(r *rand.Rand) string {
		return fmt.Sprintf("/tmp/go-build%d/b%03d/pkg.test", r.IntN(1e9), r.IntN(1000))
	},
	"home": func(r *rand.Rand) string {
		return "/home/" + []string{"runner", "alice", "ci"}[r.IntN(3)] + "/work/app"
	},
	"goroutine": func(r *rand.Rand) string {
		return fmt.Sprintf("goroutine %d [running]", r.IntN(5000))
	},
	"gomap": func(r *rand.Rand) string {
		kv := []string{"a:1", "b:2", "c:3"}
		r.Shuffle(len(kv), func(i, j int) { kv[i], kv[j] = kv[j], kv[i] })
		return "map[" + strings.Join(kv, " ") + "]"
	},
}

func TestFingerprintIgnoresVolatileValues(t *testing.T) {
	t.Parallel()
	templates := []string{
		"dial tcp %s: i/o timeout",
		"panic: runtime error: index out of range in worker %s",
		"error: request %s failed: connection reset by peer",
		"--- FAIL: TestCheckout (%s)",
		"open %s: no such file or directory",
		"unexpected value %s in response",
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for kind, gen := range randomValues {
		for _, tpl := range templates {
			first := Fingerprint(CategoryUnknown, Normalize(fmt.Sprintf(tpl, gen(rng))), "")
			for range 20 {
				v := gen(rng)
				if got := Fingerprint(CategoryUnknown, Normalize(fmt.Sprintf(tpl, v)), ""); got != first {
					t.Errorf("%s: fingerprint changed for value %q in %q (normalised %q)", kind, v, tpl, Normalize(fmt.Sprintf(tpl, v)))
					break
				}
			}
		}
	}
}

func TestFingerprintSeparatesCauses(t *testing.T) {
	t.Parallel()
	msgs := []string{
		"cart.go:12:3: undefined: pricing.Discount",
		"cart.go:12:3: undefined: pricing.Total",
		"order.go:12:3: undefined: pricing.Discount",
		"cart.go:12:3: declared and not used: total",
		"error[E0425]: cannot find value `discount` in this scope",
		"error[E0308]: cannot find value `discount` in this scope",
		"error TS2339: Property 'discount' does not exist on type 'Price'.",
		"error TS2322: Property 'discount' does not exist on type 'Price'.",
		"dial tcp 10.0.0.1:443: i/o timeout",
		"dial tcp 10.0.0.1:443: connect: connection refused",
		"npm ERR! 404 Not Found - GET https://registry.npmjs.org/left-pad",
		"npm ERR! 404 Not Found - GET https://registry.npmjs.org/right-pad",
	}
	seen := map[string]string{}
	for _, m := range msgs {
		fp := Fingerprint(CategoryCompile, Normalize(m), "")
		if prev, ok := seen[fp]; ok {
			t.Errorf("%q and %q share fingerprint %s", prev, m, fp)
		}
		seen[fp] = m
	}
	base := Fingerprint(CategoryTest, "boom", "pkg::TestA")
	for _, other := range []string{
		Fingerprint(CategoryTest, "boom", "pkg::TestB"),
		Fingerprint(CategoryNetwork, "boom", "pkg::TestA"),
		Fingerprint(CategoryTest, "boom2", "pkg::TestA"),
		Fingerprint(CategoryTest, "boompkg::TestA", ""), // no shifting across fields
	} {
		if other == base {
			t.Errorf("fingerprint collision with %s", base)
		}
	}
}

func TestLineHashAndBaselineDownWeight(t *testing.T) {
	t.Parallel()
	if LineHash("took 1.2s at 10:00:01") != LineHash("took 3.4s at 11:22:33") {
		t.Error("LineHash differs for lines with the same normalised form")
	}
	log := "error: deprecated flag --foo\nerror: cannot connect to the license server\n"
	base := Baseline{LineHash("error: deprecated flag --foo"): {}}
	rep, err := AnalyzeLog(stringsReader(log), LogOptions{Baseline: base})
	if err != nil {
		t.Fatal(err)
	}
	best, ok := bestMatch(rep.Matches)
	if !ok || best.Line != 2 {
		t.Fatalf("best match = %+v, want line 2 (line 1 is in the baseline)", best)
	}
	if !rep.Matches[0].InBaseline || rep.Matches[0].Score >= rep.Matches[1].Score {
		t.Errorf("line 1 not down-weighted: %+v", rep.Matches[0])
	}
}

func TestBuildBaselineDownWeightsKnownLines(t *testing.T) {
	t.Parallel()
	good := "2024-05-01T09:00:00Z warning: legacy API call failed in 3 places\nok  \tpkg\t0.1s\n"
	bad := "2024-05-02T10:00:00Z warning: legacy API call failed in 5 places\n2024-05-02T10:00:01Z Error: cannot open config.toml\n"
	base, err := BuildBaseline(stringsReader(good), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(base) != 1 {
		t.Fatalf("baseline has %d hashes, want 1 (only rule-matched lines)", len(base))
	}
	fs, err := Analyze([]StepInput{{Facts: StepFacts{ExitCode: 1}, Log: stringsReader(bad), Baseline: base}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].Evidence[0].Line != 2 {
		t.Fatalf("failures = %+v, want evidence starting at line 2", fs)
	}
}
