package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/sentinel-ci/sentinel/app"
)

// maxConns bounds the connections to the server.
const maxConns = 256

// offered is what the senders saw: each delivery's latency from its due
// time, and the answers by status (0: no answer).
type offered struct {
	latencies []time.Duration // of the 202s
	// byDue are the 202s' latencies by due time since the first, for the
	// timeline: a stall shows as the windows it hit, not only in the p99.
	byDue    []dueLatency
	ackedIDs []string // the X-GitHub-Delivery of each 202
	// lags are how late each delivery was handed to a sender, sorted: a
	// starved load generator, not the server, when large.
	lags     []time.Duration
	statuses map[int]int
	elapsed  time.Duration // from the first due time to the last answer
	firstErr error
}

func (o offered) acknowledged() int { return o.statuses[http.StatusAccepted] }

// percentile of the acknowledged deliveries' latencies (p in 0..100).
func (o offered) percentile(p int) time.Duration { return percentile(o.latencies, p) }

// dueLatency is one acknowledged delivery's due time (since the first
// delivery's) and latency.
type dueLatency struct{ due, latency time.Duration }

// percentile of sorted durations (p in 0..100; 0 when there are none).
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[(len(sorted)-1)*p/100]
}

// offer sends n signed push deliveries to webhookURL open-loop at perSecond:
// delivery i is due at start + i/perSecond and is sent then whatever became
// of the earlier ones (GitHub does not wait for an answer before sending the
// next). Latency counts from the due time, so that a server falling behind
// shows as latency rather than as a lower offered rate.
//
// One goroutine keeps the schedule and does nothing else: it hands each
// delivery, when due, to maxConns senders, one per connection, which build,
// sign and post it. The schedule's lag is then this process's own delay; a
// delivery waiting for a free sender waits for the server (a connection
// busy with an earlier delivery), which its latency includes. A goroutine
// and a timer per delivery, as before, cost the scheduler so much at
// 1,000/s on two busy cores that the generator fell tens of seconds behind.
func offer(ctx context.Context, webhookURL, secret, runID string, lanes []lane, n int, perSecond float64) offered {
	client := &http.Client{
		// At most maxConns connections, kept and reused: dialling anew for
		// each delivery would spend the CPU the server is measured on, and
		// a server falling behind would be buried under connections rather
		// than show its queue.
		Transport: &http.Transport{MaxConnsPerHost: maxConns, MaxIdleConnsPerHost: maxConns, IdleConnTimeout: time.Minute},
	}
	defer client.CloseIdleConnections()
	type due struct {
		i   int
		at  time.Time
		lag time.Duration
	}
	queue := make(chan due, n) // never full: the schedule never waits for a sender
	var mu sync.Mutex
	res := offered{statuses: map[int]int{}, lags: make([]time.Duration, 0, n)}
	var last time.Time
	var wg sync.WaitGroup
	start := time.Now()
	for range maxConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range queue {
				_, body := lanes[d.i%len(lanes)].push(d.i / len(lanes))
				id := "load-" + runID + "-" + strconv.Itoa(d.i)
				// GitHub gives up on a delivery 10 s after it was due, whether
				// it waited here for a connection or for the answer.
				dctx, cancel := context.WithDeadline(ctx, d.at.Add(10*time.Second))
				status, err := deliver(dctx, client, webhookURL, secret, id, body)
				cancel()
				done := time.Now()
				mu.Lock()
				res.statuses[status]++
				res.lags = append(res.lags, d.lag)
				if status == http.StatusAccepted {
					res.latencies = append(res.latencies, done.Sub(d.at))
					res.byDue = append(res.byDue, dueLatency{d.at.Sub(start), done.Sub(d.at)})
					res.ackedIDs = append(res.ackedIDs, id)
				} else if res.firstErr == nil {
					res.firstErr = fmt.Errorf("delivery %d: status %d: %v", d.i, status, err)
				}
				if done.After(last) {
					last = done
				}
				mu.Unlock()
			}
		}()
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for i := range n {
		at := start.Add(time.Duration(float64(i) / perSecond * float64(time.Second)))
		if wait := time.Until(at); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
			case <-timer.C:
			}
		}
		if ctx.Err() != nil {
			break
		}
		queue <- due{i: i, at: at, lag: time.Since(at)}
	}
	close(queue)
	wg.Wait()
	res.elapsed = last.Sub(start)
	slices.Sort(res.latencies)
	slices.Sort(res.lags)
	return res
}

// deliver posts one signed push delivery and returns the status (0 with the
// error when no answer came).
func deliver(ctx context.Context, client *http.Client, url, secret, id string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/loadtest")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-Hub-Signature-256", app.Sign(secret, body))
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	// Drained so that the connection is reused.
	io.Copy(io.Discard, resp.Body) //nolint:errcheck // the status is the answer
	resp.Body.Close()
	return resp.StatusCode, nil
}
