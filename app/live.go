package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sentinel-ci/sentinel/store"
	"github.com/sentinel-ci/sentinel/triage"
)

// liveStatePoll bounds how long a live tail waits for a notification before
// looking at the step's state again: a step's end is not announced on the
// log channel, so this is the delay between a step finishing and the page
// hearing about it.
const liveStatePoll = 2 * time.Second

// handleLiveTail streams a running step's new log lines as Server-Sent
// Events. The runner stores chunks and NOTIFYs store.LogChannel in the same
// statement; this handler LISTENs on a connection of its own and reads the
// chunks after the last one it sent. Events:
//
//	event: lines   data: rendered HTML of complete lines; id: the next line number
//	event: end     data: the step's final state
//
// The query parameter line (or Last-Event-ID on reconnection) is the first
// line the client still needs.
func (s *Server) handleLiveTail(w http.ResponseWriter, r *http.Request) {
	runID, err1 := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	stepID, err2 := strconv.ParseInt(chi.URLParam(r, "step"), 10, 64)
	fromLine := 1
	for _, v := range []string{r.Header.Get("Last-Event-ID"), r.URL.Query().Get("line")} {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			fromLine = n
			break
		}
	}
	if err1 != nil || err2 != nil {
		s.writeError(w, r, clientError(http.StatusBadRequest, "run and step ids must be numbers"))
		return
	}
	ctx := r.Context()
	step, err := store.GetStep(ctx, s.DB, stepID)
	if err == nil && step.RunID != runID {
		err = fmt.Errorf("step %d of run %d: %w", stepID, runID, store.ErrNotFound)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The server's read time-out would end the tail (net/http cancels the
	// request's context when its background read times out); a tail reads
	// nothing more from the client and lasts as long as the step.
	http.NewResponseController(w).SetReadDeadline(time.Time{}) //nolint:errcheck // a writer without deadlines has none to lift
	flusher, ok := w.(http.Flusher)
	if !ok {
		s.writeError(w, r, errors.New("response writer cannot stream"))
		return
	}
	conn, err := s.DB.ListenLogs(ctx)
	if errors.Is(err, store.ErrTooManyListeners) {
		s.writeError(w, r, clientError(http.StatusServiceUnavailable, "too many live tails at once; reload later"))
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer conn.Close()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()

	t := &tailer{stepID: stepID, fromLine: fromLine}
	if t.afterSeq, t.line, err = store.LogTailStart(ctx, conn, stepID, fromLine); err != nil {
		return
	}
	for {
		step, err := store.GetStep(ctx, conn, stepID)
		if err != nil {
			return
		}
		if err := t.pump(ctx, conn, w); err != nil {
			return
		}
		if step.State != triage.StepRunning && step.State != triage.StepPending {
			t.flushPartial(w)
			fmt.Fprintf(w, "event: end\ndata: %s\n\n", step.State)
			flusher.Flush()
			return
		}
		flusher.Flush()
		waitCtx, cancel := context.WithTimeout(ctx, liveStatePoll)
		_, err = conn.WaitForNotification(waitCtx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return
		}
		if err != nil {
			// Nothing new: a comment keeps proxies from closing the stream.
			fmt.Fprint(w, ": waiting\n\n")
		}
	}
}

// tailer turns stored chunks into complete, rendered lines.
type tailer struct {
	stepID   int64
	fromLine int
	afterSeq int
	line     int    // number of the line partial belongs to
	partial  []byte // bytes of a line whose newline has not arrived yet
	ansi     ansiState
}

// pump sends the lines completed by chunks stored since the last call.
func (t *tailer) pump(ctx context.Context, q store.Querier, w http.ResponseWriter) error {
	for {
		chunks, err := store.LogChunks(ctx, q, t.stepID, t.afterSeq, 64)
		if err != nil {
			return err
		}
		if len(chunks) == 0 {
			return nil
		}
		var html strings.Builder
		for _, c := range chunks {
			data := append(t.partial, c.Data...)
			for {
				i := bytes.IndexByte(data, '\n')
				if i < 0 {
					break
				}
				t.render(&html, data[:i])
				data = data[i+1:]
			}
			t.partial = append([]byte(nil), data...)
			t.afterSeq = c.Seq
		}
		t.send(w, html.String())
	}
}

func (t *tailer) render(b *strings.Builder, line []byte) {
	n := t.line
	t.line++
	if n < t.fromLine {
		ansiLineHTML(line, &t.ansi) // keep the colour state right
		return
	}
	writeLogLine(b, t.stepID, n, ansiLineHTML(line, &t.ansi), false)
}

func (t *tailer) send(w http.ResponseWriter, html string) {
	if html == "" {
		return
	}
	fmt.Fprintf(w, "event: lines\nid: %d\ndata: %s\n\n", t.line, html)
}

// flushPartial sends a last line that never got its newline.
func (t *tailer) flushPartial(w http.ResponseWriter) {
	if len(t.partial) == 0 {
		return
	}
	var b strings.Builder
	t.render(&b, t.partial)
	t.partial = nil
	t.send(w, b.String())
}
