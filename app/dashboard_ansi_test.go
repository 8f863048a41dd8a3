package app

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestANSILineHTML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"plain", "hello", "hello"},
		{"escaped", `<script>alert("x")</script> & co`, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co"},
		{"red", "\x1b[31mred\x1b[0m plain", `<span class="af1">red</span> plain`},
		{"bold bright", "\x1b[1;92mok\x1b[m", `<span class="af10 ab">ok</span>`},
		{"bg and reset fg", "\x1b[41;37mx\x1b[39my", `<span class="af7 ag1">x</span><span class="ag1">y</span>`},
		{"256 colour", "\x1b[38;5;196mhot", `<span style="color:#ff0000">hot</span>`},
		{"256 low", "\x1b[38;5;4mblue", `<span class="af4">blue</span>`},
		{"truecolour", "\x1b[38;2;1;2;3mrgb", `<span style="color:#010203">rgb</span>`},
		{"bad truecolour", "\x1b[38;2;999;0;0mx", "x"},
		{"cursor codes dropped", "\x1b[2K\x1b[1Gdone", "done"},
		{"osc title dropped", "\x1b]0;title\x07text", "text"},
		{"carriage return keeps last", "10%\r50%\r100%", "100%"},
		{"trailing CR", "line\r", "line"},
		{"truncated escape", "abc\x1b[3", "abc"},
		{"lone escape", "abc\x1b", "abc"},
		{"invalid utf8", "a\xffb", "a\uFFFDb"},
	}
	for _, tc := range tests {
		var st ansiState
		if diff := cmp.Diff(tc.want, string(ansiLineHTML([]byte(tc.in), &st))); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", tc.name, diff)
		}
	}
}

func TestANSIStateCarriesAcrossLines(t *testing.T) {
	t.Parallel()
	var st ansiState
	first := ansiLineHTML([]byte("\x1b[33mwarning: start"), &st)
	second := ansiLineHTML([]byte("still yellow\x1b[0m then not"), &st)
	if string(first) != `<span class="af3">warning: start</span>` || string(second) != `<span class="af3">still yellow</span> then not` {
		t.Errorf("got %q and %q", first, second)
	}
}

func TestRenderLog(t *testing.T) {
	t.Parallel()
	data := []byte("one\ntwo\nthree\npartial")
	got := renderLog(data, 7, 1, map[int]bool{2: true}, 0, false)
	if len(got.Lines) != 4 || got.NextLine != 5 || !got.Lines[1].Evidence || got.Lines[3].Anchor != "s7-L4" {
		t.Errorf("finished step: %+v", got)
	}
	live := renderLog(data, 7, 1, nil, 0, true)
	if len(live.Lines) != 3 || live.NextLine != 4 {
		t.Errorf("running step must hold back the partial line: %+v", live)
	}
	capped := renderLog(data, 7, 1, nil, 2, false)
	if capped.Skipped != 2 || len(capped.Lines) != 2 || capped.Lines[0].N != 3 {
		t.Errorf("capped: %+v", capped)
	}
}

func FuzzANSILineHTML(f *testing.F) {
	for _, s := range []string{"\x1b[31mred", "\x1b[38;5;300m", "\x1b[38;2;1;2m", "a\rb\x1b]0;x", "\x1b[", "<b>&"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var st ansiState
		out := string(ansiLineHTML(in, &st))
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out of %q", in)
		}
		if strings.Contains(out, "\x1b") || strings.Contains(out, "<script") {
			t.Fatalf("unsafe output %q from %q", out, in)
		}
		if strings.Count(out, "<span") != strings.Count(out, "</span>") {
			t.Fatalf("unbalanced spans in %q from %q", out, in)
		}
	})
}
