package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/sentinel-ci/sentinel/app/intake"
)

// maxDeliveryBytes is GitHub's cap on a webhook payload.
const maxDeliveryBytes = 25 << 20

// handleWebhook is GitHub's front door. GitHub waits about ten seconds and
// never redelivers on its own, so the delivery is durable (committed with its
// jobs) before we answer, and the work itself happens in River jobs.
func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request) {
	event := r.Header.Get("X-GitHub-Event")
	count := func(outcome string) { s.Metrics.Webhooks.WithLabelValues(metricEvent(event), outcome).Inc() }

	// 1. Look at the signature header before reading a byte of the body:
	// a request that cannot be signed costs us nothing but its headers.
	sig, ok := signatureHeader(r.Header.Get("X-Hub-Signature-256"))
	if !ok || s.Opts.WebhookSecret == "" {
		count("bad_signature")
		s.Log.Warn("webhook signature missing or malformed", "event", event, "delivery", r.Header.Get("X-GitHub-Delivery"), "remote", r.RemoteAddr)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or invalid X-Hub-Signature-256"})
		return
	}

	// 2. Reserve the body's size in the budget shared by all deliveries in
	// flight, then read at most GitHub's cap, hashing as we read.
	size := r.ContentLength
	if size > maxDeliveryBytes {
		count("too_large")
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "payload exceeds GitHub's 25 MiB limit"})
		return
	}
	if size < 0 { // chunked: the size is known only once read
		size = maxDeliveryBytes
	}
	if !s.bodies.reserve(size) {
		count("busy")
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "too many deliveries in flight; retry later"})
		return
	}
	defer s.bodies.release(size)
	body, mac, err := readSigned(w, r, s.Opts.WebhookSecret)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		count("too_large")
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "payload exceeds GitHub's 25 MiB limit"})
		return
	}
	if err != nil {
		count("malformed")
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "could not read body: " + err.Error()})
		return
	}

	// 3. Verify the signature before anything is stored or parsed. The body
	// is never logged: it came from someone who could not sign it.
	if !hmac.Equal(sig, mac) {
		count("bad_signature")
		s.Log.Warn("webhook signature rejected", "event", event, "delivery", r.Header.Get("X-GitHub-Delivery"), "remote", r.RemoteAddr)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or invalid X-Hub-Signature-256"})
		return
	}
	delivery := r.Header.Get("X-GitHub-Delivery")
	if event == "" || delivery == "" {
		count("malformed")
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "X-GitHub-Event and X-GitHub-Delivery headers are required"})
		return
	}
	// An App may be set to send form-encoded deliveries; the signature covers
	// the raw body, the JSON is in its payload field.
	payload := body
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("payload") == "" {
			count("malformed")
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "form-encoded delivery without a payload field"})
			return
		}
		payload = []byte(form.Get("payload"))
	}

	// 4. Parse: a pure function of the event name and the payload. A
	// malformed payload is not refused here: the intake keeps it, so that
	// nothing GitHub sent is lost, and it is answered 400 below.
	d := intake.Delivery{
		ID: delivery, Event: event, Payload: payload,
		Headers: map[string]string{
			"X-GitHub-Event":                         event,
			"X-GitHub-Delivery":                      delivery,
			"X-GitHub-Hook-ID":                       r.Header.Get("X-GitHub-Hook-ID"),
			"X-GitHub-Hook-Installation-Target-ID":   r.Header.Get("X-GitHub-Hook-Installation-Target-ID"),
			"X-GitHub-Hook-Installation-Target-Type": r.Header.Get("X-GitHub-Hook-Installation-Target-Type"),
			"User-Agent":                             r.Header.Get("User-Agent"),
		},
	}
	d.Parsed, d.ParseErr = intake.ParseEvent(event, payload)

	// 5. Hand it to the intake, which records the delivery and everything
	// it causes (runs, River jobs, audit entries) in one transaction,
	// shared with the deliveries arriving at the same time.
	res, err := s.Intake.Accept(r.Context(), d)
	if err != nil {
		count("error")
		s.writeError(w, r, err)
		return
	}

	// 6. Reply once it is committed.
	count(res.Outcome)
	switch res.Outcome {
	case intake.OutcomeAccepted:
		writeJSON(w, http.StatusAccepted, res)
	case intake.OutcomeMalformed:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": res.Reason})
	case intake.OutcomeRefused:
		writeJSON(w, http.StatusConflict, map[string]string{"error": res.Reason})
	default:
		writeJSON(w, http.StatusOK, res)
	}
}

// ValidSignature checks X-Hub-Signature-256 (HMAC-SHA256 of the raw body) in
// constant time. An empty secret never validates: unsigned deliveries are
// never accepted.
func ValidSignature(secret string, body []byte, header string) bool {
	sig, ok := signatureHeader(header)
	if secret == "" || !ok {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(sig, mac.Sum(nil))
}

// signatureHeader decodes X-Hub-Signature-256, which must be "sha256="
// followed by the 64 hex digits of a SHA-256 HMAC.
func signatureHeader(header string) ([]byte, bool) {
	got, ok := strings.CutPrefix(header, "sha256=")
	if !ok || len(got) != 2*sha256.Size {
		return nil, false
	}
	sig, err := hex.DecodeString(got)
	return sig, err == nil
}

// readSigned reads the body, at most GitHub's cap, and returns it with its
// HMAC under secret, computed while reading: the body is read once and
// held once. A body of known length is read into a buffer of that size.
func readSigned(w http.ResponseWriter, r *http.Request, secret string) (body, mac []byte, err error) {
	h := hmac.New(sha256.New, []byte(secret))
	src := io.TeeReader(http.MaxBytesReader(w, r.Body, maxDeliveryBytes), h)
	if r.ContentLength >= 0 {
		body = make([]byte, r.ContentLength)
		if _, err := io.ReadFull(src, body); err != nil {
			return nil, nil, err
		}
	} else if body, err = io.ReadAll(src); err != nil {
		return nil, nil, err
	}
	return body, h.Sum(nil), nil
}

// Sign returns the X-Hub-Signature-256 value of body, as GitHub computes it.
// The demo and the tunnel tests sign their own deliveries with it.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// metricEvent bounds the event label to the events we know, so that an
// attacker cannot grow the label set with made-up event names.
func metricEvent(e string) string {
	switch e {
	case "push", "pull_request", "check_suite", "check_run", "installation", "installation_repositories", "ping":
		return e
	}
	return "other"
}
