// Package tunnel is `sentinel tunnel`: it forwards GitHub webhook deliveries from a smee
// relay's event stream to Sentinel's webhook endpoint, so GitHub can reach a laptop.
package tunnel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Tunnel forwards GitHub webhook deliveries from a relay's event stream (a smee.io channel, a
// self-hosted smee or gosmee server) to Sentinel's webhook endpoint, so GitHub can reach a
// laptop. It reconnects with exponential backoff whenever the stream drops or goes quiet.
//
// The tunnel never weakens verification: it forwards the signature headers untouched and
// Sentinel checks them. When the relay provides the raw body (bodyB64, bodyB, rawdata) the
// signature holds; when it only provides a re-serialised JSON body, the tunnel forwards that
// exactly as smee-client would and, if given the secret, says up front which deliveries will
// be rejected and why.
type Tunnel struct {
	Source string // relay channel URL, e.g. https://smee.io/AbC123
	Target string // Sentinel's webhook URL, e.g. http://127.0.0.1:8080/webhooks/github

	// Secret, when set, is the App's webhook secret; it is used only to diagnose bodies the
	// relay altered, never to sign anything.
	Secret []byte

	Logger *slog.Logger

	StreamClient  *http.Client // for the event stream; nil means one without an overall timeout
	ForwardClient *http.Client // for deliveries; nil means one with a 30 s timeout

	MinBackoff      time.Duration // first reconnection delay; default 1 s
	MaxBackoff      time.Duration // cap on the delay; default 1 min
	StableAfter     time.Duration // a connection up this long resets the backoff; default 30 s
	IdleTimeout     time.Duration // reconnect when nothing arrives for this long; default 2 min (smee pings every 30 s)
	ForwardAttempts int           // tries per delivery on network errors, 429 and 5xx; default 3
}

// errStreamIdle ends a connection on which nothing arrived for IdleTimeout: a half-open TCP
// connection looks exactly like a quiet channel, except that pings stop too.
var errStreamIdle = errors.New("event stream idle")

// Run forwards until ctx is cancelled, then returns nil. It returns an error only when the
// configuration cannot work (bad URLs); connection problems are logged and retried.
func (t *Tunnel) Run(ctx context.Context) error {
	if err := t.validate(); err != nil {
		return err
	}
	t.defaults()
	t.Logger.Info("tunnel forwarding", "from", t.Source, "to", t.Target)
	var (
		lastID   string
		failures int
		retry    time.Duration
	)
	for {
		start := time.Now()
		err := t.stream(ctx, &lastID, &retry)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(start) >= t.StableAfter {
			failures = 0
		}
		failures++
		delay := t.backoff(failures, retry)
		t.Logger.Warn("tunnel disconnected; reconnecting", "err", err, "in", delay.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
	}
}

func (t *Tunnel) validate() error {
	for _, u := range []struct{ name, value string }{{"source", t.Source}, {"target", t.Target}} {
		parsed, err := url.Parse(u.value)
		if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
			return fmt.Errorf("tunnel %s %q: want an http or https URL", u.name, u.value)
		}
	}
	return nil
}

func (t *Tunnel) defaults() {
	if t.Logger == nil {
		t.Logger = slog.New(slog.DiscardHandler)
	}
	if t.StreamClient == nil {
		t.StreamClient = &http.Client{}
	}
	if t.ForwardClient == nil {
		t.ForwardClient = &http.Client{Timeout: 30 * time.Second}
	}
	if t.MinBackoff <= 0 {
		t.MinBackoff = time.Second
	}
	if t.MaxBackoff < t.MinBackoff {
		t.MaxBackoff = max(time.Minute, t.MinBackoff)
	}
	if t.StableAfter <= 0 {
		t.StableAfter = 30 * time.Second
	}
	if t.IdleTimeout <= 0 {
		t.IdleTimeout = 2 * time.Minute
	}
	if t.ForwardAttempts <= 0 {
		t.ForwardAttempts = 3
	}
}

// backoff doubles from MinBackoff (or the server's retry field, when larger) up to MaxBackoff,
// with ±20% jitter so that many tunnels dropped together do not reconnect together.
func (t *Tunnel) backoff(failures int, serverRetry time.Duration) time.Duration {
	d := max(t.MinBackoff, serverRetry)
	for i := 1; i < failures && d < t.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, t.MaxBackoff)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// stream holds one connection to the relay and forwards its events until it ends.
func (t *Tunnel) stream(ctx context.Context, lastID *string, retry *time.Duration) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.Source, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	// gosmee's server streams only to clients that name it; other relays ignore the agent.
	req.Header.Set("User-Agent", "sentinel-tunnel (gosmee compatible)")
	if *lastID != "" {
		req.Header.Set("Last-Event-ID", *lastID)
	}
	resp, err := t.StreamClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("relay answered %s", resp.Status)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		return fmt.Errorf("relay answered with %q, not an event stream (is %s a channel URL?)", mt, t.Source)
	}

	idle := time.AfterFunc(t.IdleTimeout, func() { cancel(errStreamIdle) })
	defer idle.Stop()
	events := newSSEReader(&idleResetReader{r: resp.Body, timer: idle, after: t.IdleTimeout})
	for {
		ev, err := events.Next()
		*lastID, *retry = events.LastID(), events.Retry()
		if err != nil {
			if cause := context.Cause(ctx); errors.Is(cause, errStreamIdle) {
				return fmt.Errorf("nothing received for %s: %w", t.IdleTimeout, errStreamIdle)
			}
			if err == io.EOF {
				return errors.New("relay closed the stream")
			}
			return err
		}
		t.Logger.Debug("relay event", "event", ev.Event, "id", ev.ID, "bytes", len(ev.Data))
		switch {
		case ev.Event == "ready" || string(ev.Data) == "ready":
			t.Logger.Info("tunnel connected", "from", t.Source)
			continue
		case ev.Event == "ping" || string(ev.Data) == "{}":
			continue
		case ev.Event != "" && ev.Event != "message":
			t.Logger.Debug("tunnel ignored event", "event", ev.Event)
			continue
		}
		// Forwarding can take a while (retries); the stream being quiet meanwhile is not idleness.
		idle.Stop()
		t.deliver(ctx, ev.Data)
		idle.Reset(t.IdleTimeout)
	}
}

// idleResetReader restarts the idle timer whenever bytes arrive, comments and pings included.
type idleResetReader struct {
	r     io.Reader
	timer *time.Timer
	after time.Duration
}

func (r *idleResetReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.timer.Reset(r.after)
	}
	return n, err
}

// deliver decodes one relay event and forwards it, logging the outcome; a bad event is skipped.
func (t *Tunnel) deliver(ctx context.Context, data []byte) {
	d, err := decodeRelayedDelivery(data)
	if err != nil {
		t.Logger.Warn("tunnel skipped a relay event", "err", err)
		return
	}
	log := t.Logger.With("event", d.Header.Get("X-GitHub-Event"), "delivery", d.Header.Get("X-GitHub-Delivery"), "body_from", d.BodyField)
	switch checkRelayedSignature(t.Secret, d.Body, d.Header.Get("X-Hub-Signature-256")) {
	case signatureMismatch:
		if d.Raw {
			log.Warn("signature does not match the raw body: the webhook secret given to the tunnel differs from the App's")
		} else {
			log.Warn("the relay re-serialised this JSON body and its signature no longer matches; Sentinel will reject it with 401. Use a relay that forwards the raw body (see smee.md)")
		}
	case signatureNotChecked:
		if !d.Raw {
			log.Info("relay sent a re-serialised JSON body; its signature may not match (see smee.md)")
		}
	}
	status, err := t.forward(ctx, d)
	switch {
	case err != nil:
		log.Error("delivery not forwarded; redeliver it from the App's advanced settings once Sentinel is up", "err", err)
	case status >= 200 && status < 300:
		log.Info("delivery forwarded", "status", status)
	default:
		log.Warn("Sentinel refused the delivery", "status", status)
	}
}

// forward posts d to the target, retrying network errors, 429 and 5xx. Repeating a delivery is
// safe: Sentinel deduplicates on X-GitHub-Delivery.
func (t *Tunnel) forward(ctx context.Context, d relayedDelivery) (int, error) {
	target, err := url.Parse(t.Target)
	if err != nil {
		return 0, err
	}
	if len(d.Query) > 0 {
		q := target.Query()
		for k, vs := range d.Query {
			for _, v := range vs {
				q.Add(k, v)
			}
		}
		target.RawQuery = q.Encode()
	}
	var lastErr error
	wait := t.MinBackoff
	for attempt := 1; attempt <= t.ForwardAttempts; attempt++ {
		if attempt > 1 {
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(wait):
			}
			wait = min(2*wait, t.MaxBackoff)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), bytes.NewReader(d.Body))
		if err != nil {
			return 0, err
		}
		req.Header = d.Header.Clone()
		resp, err := t.ForwardClient.Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		reply, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			lastErr = fmt.Errorf("%s answered %s: %s", t.Target, resp.Status, strings.TrimSpace(string(reply)))
			continue
		}
		return resp.StatusCode, nil
	}
	return 0, fmt.Errorf("after %d attempts: %w", t.ForwardAttempts, lastErr)
}
