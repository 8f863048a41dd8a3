package tunnel

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// sseEvent is one dispatched Server-Sent Event.
type sseEvent struct {
	ID    string
	Event string // "" means the default type, "message"
	Data  []byte
}

// sseMaxLine bounds one line of the stream. A relayed webhook body can be 25 MiB, and a relay that
// base64-encodes it on one data line makes that about 34 MiB.
const sseMaxLine = 40 << 20

// errSSELineTooLong reports a line past sseMaxLine; the stream cannot be resynchronised after it.
var errSSELineTooLong = errors.New("event stream: line longer than 40 MiB")

// sseReader parses a text/event-stream body as the HTML living standard describes it: lines end in
// CRLF, LF or CR; a blank line dispatches the event; lines starting with ':' are comments; unknown
// fields are ignored; an event cut off by the end of the stream is discarded.
type sseReader struct {
	sc     *bufio.Scanner
	lastID string
	retry  time.Duration // the server's requested reconnection delay; 0 when it sent none
}

func newSSEReader(r io.Reader) *sseReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), sseMaxLine)
	sc.Split(splitSSELines)
	return &sseReader{sc: sc}
}

// Next returns the next complete event, or io.EOF when the stream ended (a truncated final event
// is dropped, as the standard requires).
func (r *sseReader) Next() (sseEvent, error) {
	var (
		ev      sseEvent
		data    bytes.Buffer
		hasData bool
	)
	for r.sc.Scan() {
		line := r.sc.Bytes()
		if len(line) == 0 {
			if !hasData {
				// An event with no data is not dispatched, but an id it carried still counts.
				ev = sseEvent{}
				continue
			}
			ev.Data = bytes.TrimSuffix(data.Bytes(), []byte("\n"))
			ev.ID = r.lastID
			return ev, nil
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			value = bytes.TrimPrefix(value, []byte(" "))
		}
		switch string(field) {
		case "event":
			ev.Event = string(value)
		case "data":
			data.Write(value)
			data.WriteByte('\n')
			hasData = true
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				r.lastID = string(value)
			}
		case "retry":
			if ms, err := strconv.ParseUint(string(value), 10, 31); err == nil && isDigits(value) {
				r.retry = time.Duration(ms) * time.Millisecond
			}
		}
	}
	if err := r.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return sseEvent{}, errSSELineTooLong
		}
		return sseEvent{}, fmt.Errorf("event stream: %w", err)
	}
	return sseEvent{}, io.EOF
}

// LastID is the id of the last event seen, to send back as Last-Event-ID when reconnecting.
func (r *sseReader) LastID() string { return r.lastID }

// Retry is the reconnection delay the server asked for with a retry field, or 0.
func (r *sseReader) Retry() time.Duration { return r.retry }

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// splitSSELines is a bufio.SplitFunc for the three line endings the event-stream format allows.
func splitSSELines(data []byte, atEOF bool) (advance int, token []byte, err error) {
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		if data[i] == '\n' {
			return i + 1, data[:i], nil
		}
		// A CR at the end of the buffer may be the first half of a CRLF still to arrive.
		if i+1 == len(data) && !atEOF {
			return 0, nil, nil
		}
		if i+1 < len(data) && data[i+1] == '\n' {
			return i + 2, data[:i], nil
		}
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		// A last line without a terminator cannot complete an event; hand it over so the
		// reader sees the field, then EOF discards the unfinished event.
		return len(data), data, nil
	}
	return 0, nil, nil
}
