package triage

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestTemplateMinerLearnsVariableWords(t *testing.T) {
	t.Parallel()
	m := NewTemplateMiner(MinerOptions{})
	for _, user := range []string{"alice", "bob", "carol", "dave"} {
		m.Add(CategoryUnknown, Normalize("session opened for user "+user+" by (uid=0)"))
	}
	got := m.Match(CategoryUnknown, Normalize("session opened for user erin by (uid=0)"))
	if want := "session opened for user <*> by (uid=<n>)"; got.Text != want || got.ID == 0 {
		t.Errorf("template = %+v, want %q", got, want)
	}
	if m.Len() != 1 {
		t.Errorf("%d templates, want 1: %+v", m.Len(), m.Templates())
	}
}

func TestTemplateMinerKeepsNearMissesApart(t *testing.T) {
	t.Parallel()
	// Each side several times, the pair learned together: a position
	// needs more than two distinct values to vary, and some tokens never do.
	for _, p := range nearMissPairs {
		if p.join {
			continue
		}
		m := NewTemplateMiner(MinerOptions{})
		for range 5 {
			m.Add(CategoryUnknown, Normalize(p.a))
			m.Add(CategoryUnknown, Normalize(p.b))
		}
		if m.Fingerprint(CategoryUnknown, Normalize(p.a), "") == m.Fingerprint(CategoryUnknown, Normalize(p.b), "") {
			t.Errorf("%s: joined by the miner: %+v", p.name, m.Templates())
		}
	}
	// Cause tokens stay apart even among many values.
	m := NewTemplateMiner(MinerOptions{})
	for _, code := range []string{"1", "2", "137", "143"} {
		m.Add(CategoryUnknown, Normalize("Error: Process completed with exit code "+code+"."))
	}
	for _, sym := range []string{"Discount", "Total", "Tax", "Rounding"} {
		m.Add(CategoryCompile, Normalize("cart.go:1:2: undefined: pricing."+sym))
	}
	if m.Len() != 8 {
		t.Errorf("%d templates, want 8 (exit codes and symbols kept): %+v", m.Len(), m.Templates())
	}
}

func TestTemplateMinerSeparatesCategoriesAndShapes(t *testing.T) {
	t.Parallel()
	m := NewTemplateMiner(MinerOptions{})
	for _, q := range []string{"emails", "orders", "billing"} {
		m.Add(CategoryNetwork, "queue "+q+" is unreachable")
		m.Add(CategoryInfrastructure, "queue "+q+" is unreachable")
		m.Add(CategoryNetwork, "queue "+q+" is unreachable now")
	}
	if m.Len() != 3 {
		t.Errorf("%d templates, want 3: %+v", m.Len(), m.Templates())
	}
}

func TestTemplateMinerIsDeterministicAndRoundTrips(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join("testdata", "templates", "*.log"))
	var lines []string
	for _, f := range files {
		_, ls := labelledLines(t, f)
		lines = append(lines, ls...)
	}
	learn := func() *TemplateMiner {
		m := NewTemplateMiner(MinerOptions{})
		for _, l := range lines {
			m.Add(CategoryUnknown, Normalize(l))
		}
		return m
	}
	a, b := learn(), learn()
	if !slices.Equal(a.Templates(), b.Templates()) {
		t.Fatal("two runs over the same input learned different templates")
	}
	enc, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var c TemplateMiner
	if err := c.UnmarshalBinary(enc); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Templates(), c.Templates()) {
		t.Fatal("decoded miner has different templates")
	}
	for _, l := range lines[:2000] {
		n := Normalize(l)
		if a.Fingerprint(CategoryUnknown, n, "") != c.Fingerprint(CategoryUnknown, n, "") {
			t.Fatalf("decoded miner fingerprints %q differently", l)
		}
	}
	again, _ := c.MarshalBinary()
	if string(again) != string(enc) {
		t.Error("encoding is not stable across a round trip")
	}
	t.Logf("%d lines, %d templates, %d bytes encoded", len(lines), a.Len(), len(enc))
	for _, bad := range [][]byte{nil, []byte("nope"), enc[:len(enc)-3], append([]byte(templateMagic), 9)} {
		if err := new(TemplateMiner).UnmarshalBinary(bad); err == nil {
			t.Errorf("UnmarshalBinary(%.30q) accepted corrupt input", bad)
		}
	}
}

func TestTemplateMinerIsBounded(t *testing.T) {
	t.Parallel()
	m := NewTemplateMiner(MinerOptions{MaxClusters: 50, MaxClustersPerShape: 20})
	for i := range 500 {
		msg := fmt.Sprintf("distinct%c message kind%c%c at stage", 'a'+i%26, 'a'+i/26%26, 'a'+i%7)
		if i%2 == 0 {
			msg += " two"
		}
		if i%3 == 0 {
			msg += " three"
		}
		m.Add(CategoryUnknown, msg)
	}
	if m.Len() > 50 {
		t.Errorf("%d templates stored, bound 50", m.Len())
	}
	for _, b := range m.buckets {
		if len(b) > 20 {
			t.Errorf("%d templates in one shape, bound 20", len(b))
		}
	}
	// Past the bounds a message is its own template, never a wrong one.
	got := m.Add(CategoryUnknown, "a never seen message")
	if got.Text != "a never seen message" {
		t.Errorf("Add past the bound = %+v", got)
	}
}

func TestGeneralizeToken(t *testing.T) {
	t.Parallel()
	cases := []struct{ a, b, want string }{
		{"user=alice", "user=bob", "user=<*>"},
		{`"alice"`, `"bob"`, `"<*>"`},
		{"pod/web-<id>-<id>", "pod/redis-cache-<id>-<id>", "pod/<*>"},
		{"pod/<*>", "pod/api-<id>-<id>", "pod/<*>"},
		{"[pool-<n>-thread-<n>]", "[kafka-consumer-<n>]", "[<*>]"},
		{"alice", "bob", "<*>"},
		{"ab", "abab", "<*>"},
	}
	for _, tc := range cases {
		got := generalizeToken(tc.a, tc.b)
		if got != tc.want {
			t.Errorf("generalizeToken(%q, %q) = %q, want %q", tc.a, tc.b, got, tc.want)
		}
		if !tokenFits(got, tc.b) {
			t.Errorf("%q does not fit %q", tc.b, got)
		}
	}
}

// FuzzTemplateMinerDecode: any bytes either fail to decode or decode to a
// miner whose encoding decodes to the same templates; never a panic.
func FuzzTemplateMinerDecode(f *testing.F) {
	m := NewTemplateMiner(MinerOptions{})
	for _, u := range []string{"alice", "bob", "carol"} {
		m.Add(CategoryNetwork, "user "+u+" logged in from <ip>")
	}
	m.Add(CategoryTest, "--- FAIL: TestX (<dur>)")
	enc, _ := m.MarshalBinary()
	f.Add(enc)
	f.Add([]byte(templateMagic + "\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var a TemplateMiner
		if err := a.UnmarshalBinary(data); err != nil {
			return
		}
		again, err := a.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var b TemplateMiner
		if err := b.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if !slices.Equal(a.Templates(), b.Templates()) {
			t.Fatal("re-encoding changed the templates")
		}
		a.Add(CategoryNetwork, "user dave logged in from <ip>")
	})
}

// Match through a bucket's token index finds the template a scan of the
// bucket in creation order finds, for every message of a mixed log.
func TestMatchIndexAgreesWithScan(t *testing.T) {
	t.Parallel()
	data := fingerprintLog(t, 1<<20)
	m := NewTemplateMiner(MinerOptions{})
	var msgs []string
	for _, l := range strings.Split(string(data), "\n") {
		n := Normalize(l)
		msgs = append(msgs, n)
		m.Add(CategoryUnknown, n)
	}
	indexed := 0
	for _, n := range msgs {
		toks := minerTokens(n)
		shape := shapeKey{CategoryUnknown, len(toks)}
		if got, want := m.matching(shape, toks), fitting(m.buckets[shape], toks); got != want {
			t.Fatalf("%q: index found %v, scan %v", n, got, want)
		}
		if m.index[shape] != nil {
			indexed++
		}
	}
	if indexed == 0 {
		t.Fatal("no bucket was large enough to be indexed: the test checks nothing")
	}
}

// Match remembers the messages that fit no template, but not past a
// template being learned or widened that they fit.
func TestMatchForgetsMissesWhenTemplatesChange(t *testing.T) {
	t.Parallel()
	m := NewTemplateMiner(MinerOptions{})
	miss := func(msg string) {
		t.Helper()
		for range 2 { // the second time from what the first remembered
			if tpl := m.Match(CategoryUnknown, msg); tpl.ID != 0 || tpl.Text != msg {
				t.Fatalf("Match(%q) = %+v before any template fits it", msg, tpl)
			}
		}
	}
	miss("upstream connect refused")
	learned := m.Add(CategoryUnknown, "upstream connect refused")
	if tpl := m.Match(CategoryUnknown, "upstream connect refused"); tpl.ID != learned.ID {
		t.Fatalf("after it was learned: %+v, want template %d", tpl, learned.ID)
	}
	m.Add(CategoryUnknown, "worker delta stopped")
	m.Add(CategoryUnknown, "worker epsilon stopped")
	miss("worker gamma stopped")
	// The third sibling widens the template without creating one.
	merged := m.Add(CategoryUnknown, "worker zeta stopped")
	if merged.Text != "worker <*> stopped" {
		t.Fatalf("siblings gave %q, want them merged", merged.Text)
	}
	if tpl := m.Match(CategoryUnknown, "worker gamma stopped"); tpl.ID != merged.ID {
		t.Fatalf("after the widening: %+v, want template %d", tpl, merged.ID)
	}
}

// A template token with one placeholder between constant parts takes
// other values there that Normalize did not recognise, unless the value
// names a cause or nothing constant says what the value is.
func TestPlaceholderFits(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		tpl, tok string
		want     bool
	}{
		{"pay_<blob>", "pay_oklIEzSRHFKLQbOpRcFWEOyf", true},
		{"SKU-<n>-XL", "SKU-xqz-XL", true},
		{"SKU-<n>-XL", "SKU-ABC-XL", false},                   // a code in capitals names a cause
		{"[pool-<n>-thread-<n>]", "[pool-a-thread-b]", false}, // two placeholders
		{"<id>", "Discount", false},                           // nothing constant
		{"pay_<blob>", "pay_TestCheckoutTax", false},          // names a cause
		{"pay_<blob>", "pay_ENOTFOUND", false},
		{"pay_<blob>", "pay_", false},
		{"pay_<blob>", "card_oklIEzSRHFKLQbOpRcFWEOyf", false},
	} {
		if got := tokenFits(c.tpl, c.tok); got != c.want {
			t.Errorf("tokenFits(%q, %q) = %v, want %v", c.tpl, c.tok, got, c.want)
		}
	}
}

// The miner keeps a cluster's last fingerprint: it must stay the plain
// Fingerprint of the matched template for every identity asked in turn,
// and follow the template when it widens.
func TestTemplateMinerFingerprintFollowsIdentityAndTemplate(t *testing.T) {
	t.Parallel()
	m := NewTemplateMiner(MinerOptions{})
	msg := Normalize("session opened for user alice by (uid=0)")
	m.Add(CategoryUnknown, msg)
	check := func(identity string) {
		t.Helper()
		want := Fingerprint(CategoryUnknown, m.Match(CategoryUnknown, msg).Text, identity)
		if got := m.Fingerprint(CategoryUnknown, msg, identity); got != want {
			t.Errorf("Fingerprint(%q) = %s, want %s (template %q)", identity, got, want, m.Match(CategoryUnknown, msg).Text)
		}
	}
	for _, id := range []string{"", "pkg.TestA", "pkg.TestB", "pkg.TestA", ""} {
		check(id)
	}
	before := m.Match(CategoryUnknown, msg).Text
	for _, user := range []string{"bob", "carol", "dave"} {
		m.Add(CategoryUnknown, Normalize("session opened for user "+user+" by (uid=0)"))
	}
	if after := m.Match(CategoryUnknown, msg).Text; after == before {
		t.Fatalf("template %q did not widen", after)
	}
	check("")
	check("pkg.TestA")
}
