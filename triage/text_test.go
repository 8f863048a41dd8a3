package triage

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFirstLine(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"one line", "one line"},
		{"first\nsecond", "first"},
		{"\n\n  docker: daemon gone\nmore", "docker: daemon gone"},
		{"trailing\n", "trailing"},
		{"a\r\nb", "a\r"},
	}
	for _, tt := range tests {
		if got := FirstLine(tt.in); got != tt.want {
			t.Errorf("FirstLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestShortSHA(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"abc1234", "abc1234"},
		{"0123456789ab", "0123456789ab"},
		{"0123456789abcdef0123456789abcdef01234567", "0123456789ab"},
	}
	for _, tt := range tests {
		if got := ShortSHA(tt.in); got != tt.want {
			t.Errorf("ShortSHA(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestClip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven char", 10, "eleven ch…"},
		{"ünïcödé text", 5, "ünïc…"},
		{"日本語のテキスト", 3, "日本…"},
		{"abc", 1, "…"},
		{"abc", 0, ""},
		{"", 0, ""},
	}
	for _, tt := range tests {
		got := Clip(tt.in, tt.n)
		if got != tt.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
		if n := utf8.RuneCountInString(got); n > max(tt.n, 0) {
			t.Errorf("Clip(%q, %d) has %d characters", tt.in, tt.n, n)
		}
	}
}

func TestClipBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven char", 10, "eleven " + "…"},
		// "é" is two bytes: a cut after 5 bytes would split the third one.
		{"ééééé", 8, "éé…"},
		{"ééééé", 9, "ééé…"},
		{"日本語", 8, "日…"},
		{"abcdef", 2, "ab"},
		{"ébc", 1, ""},
		{"abc", 0, ""},
	}
	for _, tt := range tests {
		got := ClipBytes(tt.in, tt.n)
		if got != tt.want {
			t.Errorf("ClipBytes(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
		if len(got) > max(tt.n, 0) || !utf8.ValidString(got) {
			t.Errorf("ClipBytes(%q, %d) = %q: %d bytes, valid %v", tt.in, tt.n, got, len(got), utf8.ValidString(got))
		}
	}
}

func FuzzClip(f *testing.F) {
	f.Add("ünïcödé text", 5)
	f.Add(strings.Repeat("é", 300), 200)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if !utf8.ValidString(s) {
			t.Skip()
		}
		c, b := Clip(s, n), ClipBytes(s, n)
		if utf8.RuneCountInString(c) > max(n, 0) || len(b) > max(n, 0) {
			t.Fatalf("Clip %q, ClipBytes %q: over %d", c, b, n)
		}
		if !utf8.ValidString(c) || !utf8.ValidString(b) {
			t.Fatalf("invalid UTF-8: %q %q", c, b)
		}
		if c != s && n > 0 && !strings.HasSuffix(c, ellipsis) {
			t.Fatalf("Clip(%q, %d) = %q: cut without a mark", s, n, c)
		}
	})
}
