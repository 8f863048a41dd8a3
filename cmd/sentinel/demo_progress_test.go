package main

import (
	"strings"
	"testing"
	"time"
)

// TestProgressSpeaksWhenSilent: a progress line, saying what the demo does,
// comes once nothing was printed for progressEvery, and not before.
func TestProgressSpeaksWhenSilent(t *testing.T) {
	var out strings.Builder
	p := newProgress(&out)
	p.setStatus("building image x: sent 32 MiB of its context")
	p.tick(p.start.Add(progressEvery - time.Second))
	if out.Len() != 0 {
		t.Fatalf("printed before %s of silence: %q", progressEvery, out.String())
	}
	p.tick(p.start.Add(progressEvery))
	if want := "  … building image x: sent 32 MiB of its context (9s elapsed)\n"; out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
	out.Reset()
	p.say("run 1 done")
	p.follow(func() string { return "2 of 8 scenarios finished" })
	p.tick(time.Now().Add(progressEvery))
	if !strings.Contains(out.String(), "… 2 of 8 scenarios finished (") {
		t.Fatalf("got %q", out.String())
	}
}
