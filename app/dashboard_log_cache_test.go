package app

import (
	"strings"
	"testing"
)

func TestLogCacheServesTheSameLogAndMissesAChangedOne(t *testing.T) {
	var c logCache
	log := []byte("one\n\x1b[31mtwo\x1b[0m\nthree\n")
	ev := map[int]bool{2: true}
	first := c.render(log, 7, ev, 100)
	if want := renderLog(log, 7, 1, ev, 100, false); first.HTML != want.HTML || len(first.Lines) != 3 {
		t.Fatalf("cached render differs from renderLog:\n%s\n%s", first.HTML, want.HTML)
	}
	if again := c.render(log, 7, ev, 100); again.HTML != first.HTML || len(c.m) != 1 {
		t.Fatalf("second render: %d entries, html %q", len(c.m), again.HTML)
	}
	// Another evidence line, another log of the same length, another step: each its own entry.
	if other := c.render(log, 7, map[int]bool{3: true}, 100); !strings.Contains(string(other.HTML), `class="l ev" id="s7-L3"`) {
		t.Fatalf("evidence on line 3 not marked: %s", other.HTML)
	}
	changed := []byte("one\n\x1b[31mtwo\x1b[0m\nthreE\n")
	if got := c.render(changed, 7, ev, 100); !strings.Contains(string(got.HTML), "threE") {
		t.Fatalf("a changed log served the old markup: %s", got.HTML)
	}
	if got := c.render(log, 8, ev, 100); !strings.Contains(string(got.HTML), `id="s8-L1"`) {
		t.Fatalf("another step served step 7's anchors: %s", got.HTML)
	}
	if len(c.m) != 4 || len(c.order) != 4 {
		t.Fatalf("%d entries, %d in order; want 4", len(c.m), len(c.order))
	}
}

func TestLogCacheStaysWithinItsBudget(t *testing.T) {
	var c logCache
	line := strings.Repeat("x", 1000) + "\n"
	log := []byte(strings.Repeat(line, 1000)) // about 1 MB of markup, 2 MB counted
	for step := int64(1); step <= 40; step++ {
		c.render(log, step, nil, 5000)
	}
	if c.bytes > logCacheBytes || len(c.m) != len(c.order) || len(c.m) >= 40 {
		t.Fatalf("%d bytes in %d entries (%d in order), budget %d", c.bytes, len(c.m), len(c.order), logCacheBytes)
	}
	if _, ok := c.m[c.order[len(c.order)-1]]; !ok {
		t.Fatal("the newest entry was evicted")
	}
}
