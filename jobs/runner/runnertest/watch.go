package runnertest

import (
	"bytes"
	"strings"
	"sync"
)

// LineWatch is a writer that signals when a given text has been written:
// a test waits on Seen for a step to reach a point rather than sleeping.
type LineWatch struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	text string
	seen chan struct{}
	once sync.Once
}

// NewLineWatch watches for text; "" never signals.
func NewLineWatch(text string) *LineWatch { return &LineWatch{text: text, seen: make(chan struct{})} }

func (w *LineWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.text != "" && strings.Contains(w.buf.String(), w.text) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

// Seen is closed once the text has been written.
func (w *LineWatch) Seen() <-chan struct{} { return w.seen }

// String is everything written so far.
func (w *LineWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
