package triage

import (
	"bufio"
	"errors"
	"io"
)

// lineReader reads lines of at most max bytes; the rest of a longer line
// is skipped, so memory stays bounded whatever the input.
type lineReader struct {
	br        *bufio.Reader
	buf       []byte
	max       int
	n         int64 // lines returned so far
	truncated bool  // the last line was cut
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64*1024), max: max}
}

// next returns the next line without its line end, or io.EOF. The slice
// is valid until the following call.
func (lr *lineReader) next() ([]byte, error) {
	lr.buf = lr.buf[:0]
	lr.truncated = false
	got := false
	for {
		chunk, err := lr.br.ReadSlice('\n')
		if len(chunk) > 0 {
			got = true
			room := lr.max - len(lr.buf)
			if len(chunk) > room {
				lr.truncated = true
				chunk = chunk[:max(room, 0)]
			}
			lr.buf = append(lr.buf, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF && got {
			err = nil
		}
		if err != nil {
			return nil, err
		}
		lr.n++
		for len(lr.buf) > 0 && (lr.buf[len(lr.buf)-1] == '\n' || lr.buf[len(lr.buf)-1] == '\r') {
			lr.buf = lr.buf[:len(lr.buf)-1]
		}
		return lr.buf, nil
	}
}
