package tunnel

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// readAllSSE collects every event of a stream and the error that ended it.
func readAllSSE(r io.Reader) ([]sseEvent, *sseReader, error) {
	sr := newSSEReader(r)
	var out []sseEvent
	for {
		ev, err := sr.Next()
		if err != nil {
			return out, sr, err
		}
		ev.Data = append([]byte(nil), ev.Data...)
		out = append(out, ev)
	}
}

func TestSSEReader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		in        string
		want      []sseEvent
		wantID    string
		wantRetry time.Duration
	}{
		{
			name: "smee ready, ping and message",
			in: "id: 0\nevent: ready\ndata: {}\n\n" +
				"id: 1\nevent: ping\ndata: {}\n\n" +
				"id: 2\ndata: {\"x-github-event\":\"push\",\"body\":{}}\n\n",
			want: []sseEvent{
				{ID: "0", Event: "ready", Data: []byte("{}")},
				{ID: "1", Event: "ping", Data: []byte("{}")},
				{ID: "2", Data: []byte(`{"x-github-event":"push","body":{}}`)},
			},
			wantID: "2",
		},
		{
			name: "CRLF and bare CR line endings",
			in:   "data: a\r\n\r\ndata: b\r\rdata: c\n\n",
			want: []sseEvent{{Data: []byte("a")}, {Data: []byte("b")}, {Data: []byte("c")}},
		},
		{
			name: "multi-line data joined with newlines",
			in:   "data: first\ndata:second\ndata\n\n",
			want: []sseEvent{{Data: []byte("first\nsecond\n")}},
		},
		{
			name: "comments, unknown fields and only one leading space removed",
			in:   ": keep-alive\nfoo: bar\ndata:  two spaces\n\n",
			want: []sseEvent{{Data: []byte(" two spaces")}},
		},
		{
			name:   "event without data is not dispatched but its id sticks",
			in:     "id: 7\nevent: nothing\n\ndata: x\n\n",
			want:   []sseEvent{{ID: "7", Data: []byte("x")}},
			wantID: "7",
		},
		{
			name:      "retry must be all digits",
			in:        "retry: 2500\n\nretry: 1e3\n\nretry: -4\n\n",
			wantRetry: 2500 * time.Millisecond,
		},
		{
			name: "truncated final event is discarded",
			in:   "data: complete\n\ndata: cut off",
			want: []sseEvent{{Data: []byte("complete")}},
		},
		{
			name:   "id containing NUL is ignored",
			in:     "id: 1\ndata: a\n\nid: b\x00c\ndata: b\n\n",
			want:   []sseEvent{{ID: "1", Data: []byte("a")}, {ID: "1", Data: []byte("b")}},
			wantID: "1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// One byte at a time too: a CR split from its LF must not produce an extra blank line.
			for _, r := range []io.Reader{strings.NewReader(tt.in), iotest.OneByteReader(strings.NewReader(tt.in))} {
				got, sr, err := readAllSSE(r)
				if err != io.EOF {
					t.Fatalf("stream ended with %v; want io.EOF", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("events (-want +got):\n%s", diff)
				}
				if sr.LastID() != tt.wantID || sr.Retry() != tt.wantRetry {
					t.Errorf("LastID, Retry = %q, %v; want %q, %v", sr.LastID(), sr.Retry(), tt.wantID, tt.wantRetry)
				}
			}
		})
	}
}

func TestSSEReaderErrors(t *testing.T) {
	t.Parallel()
	broken := errors.New("connection reset")
	_, _, err := readAllSSE(io.MultiReader(strings.NewReader("data: a\n\ndata: b"), iotest.ErrReader(broken)))
	if !errors.Is(err, broken) {
		t.Errorf("error = %v; want it to wrap %v", err, broken)
	}
	_, _, err = readAllSSE(io.LimitReader(infiniteLine{}, sseMaxLine+10))
	if !errors.Is(err, errSSELineTooLong) {
		t.Errorf("error = %v; want %v", err, errSSELineTooLong)
	}
}

// infiniteLine is a data line that never ends.
type infiniteLine struct{}

func (infiniteLine) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

// FuzzSSEReader checks that no input panics and that how the bytes are split into reads never
// changes the events.
func FuzzSSEReader(f *testing.F) {
	for _, seed := range []string{
		"data: x\n\n", "id: 1\r\nevent: ping\r\ndata: {}\r\n\r\n", "data: a\rdata: b\r\r",
		": comment\n\n", "retry: 10\n", "data", "\r", "\n\n\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		whole, _, err1 := readAllSSE(strings.NewReader(in))
		bytewise, _, err2 := readAllSSE(iotest.OneByteReader(strings.NewReader(in)))
		if err1 != io.EOF || err2 != io.EOF {
			t.Fatalf("errors %v, %v; want io.EOF", err1, err2)
		}
		if diff := cmp.Diff(whole, bytewise); diff != "" {
			t.Errorf("whole vs byte-at-a-time (-whole +bytewise):\n%s", diff)
		}
	})
}
