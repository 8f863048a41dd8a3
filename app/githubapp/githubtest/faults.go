package githubtest

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// FaultKind names a way GitHub can fail.
type FaultKind string

const (
	// ServerError answers 500 without doing anything.
	ServerError FaultKind = "server_error"
	// LostAnswer does the work, then answers 502: the client cannot tell
	// whether it happened (the crash window every caller must survive).
	LostAnswer FaultKind = "lost_answer"
	// PrimaryRateLimit answers 403 with X-RateLimit-Remaining: 0 and X-RateLimit-Reset.
	PrimaryRateLimit FaultKind = "primary_rate_limit"
	// SecondaryRateLimit answers 403 with Retry-After and the secondary-rate-limit documentation URL.
	SecondaryRateLimit FaultKind = "secondary_rate_limit"
	// TooManyRequests answers 429 with Retry-After.
	TooManyRequests FaultKind = "too_many_requests"
	// Slow answers normally after Fault.Delay.
	Slow FaultKind = ""
)

func (k FaultKind) afterApply() bool { return k == LostAnswer }

// Fault is one injected failure. Method and PathPrefix restrict which
// requests it applies to; empty matches every API request.
type Fault struct {
	Kind       FaultKind
	Delay      time.Duration // added before answering
	RetryAfter time.Duration // rate limits: how long GitHub asks to wait (0: the limit has just reset)
	Method     string
	PathPrefix string
}

func (f Fault) matches(method, path string) bool {
	return (f.Method == "" || strings.EqualFold(f.Method, method)) &&
		(f.PathPrefix == "" || strings.HasPrefix(path, f.PathPrefix))
}

// Chaos makes a share of requests fail at random, reproducibly from Seed.
type Chaos struct {
	Rate  float64     // 0..1, the share of requests that fail
	Seed  uint64      // same seed, same sequence
	Kinds []FaultKind // chosen uniformly; empty means all failing kinds
}

type faultState struct {
	queue []Fault
	chaos *Chaos
	rng   *rand.Rand
	delay time.Duration
}

// FailNext queues faults; each is used by the first later request it matches.
func (s *Server) FailNext(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.queue = append(s.faults.queue, faults...)
}

// SetChaos makes c.Rate of all later API requests fail; a zero Chaos stops it.
func (s *Server) SetChaos(c Chaos) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.Rate <= 0 {
		s.faults.chaos = nil
		return
	}
	if len(c.Kinds) == 0 {
		c.Kinds = []FaultKind{ServerError, LostAnswer, PrimaryRateLimit, SecondaryRateLimit, TooManyRequests}
	}
	s.faults.chaos = &c
	s.faults.rng = rand.New(rand.NewPCG(c.Seed, c.Seed^0x5e17))
}

// SetDelay slows every later API answer by d.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.delay = d
}

// takeFault picks the fault for one request: a queued one first, then chaos.
// A Fault with an empty Kind is a normal (possibly delayed) answer.
func (s *Server) takeFault(method, path string) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	fs := &s.faults
	for i, f := range fs.queue {
		if f.matches(method, path) {
			fs.queue = append(fs.queue[:i:i], fs.queue[i+1:]...)
			f.Delay += fs.delay
			return f
		}
	}
	if fs.chaos != nil && fs.rng.Float64() < fs.chaos.Rate {
		kind := fs.chaos.Kinds[fs.rng.IntN(len(fs.chaos.Kinds))]
		return Fault{Kind: kind, Delay: fs.delay}
	}
	return Fault{Delay: fs.delay}
}

func (s *Server) writeFault(w http.ResponseWriter, f Fault) {
	reset := time.Now().Add(f.RetryAfter)
	switch f.Kind {
	case ServerError:
		writeError(w, http.StatusInternalServerError, "Server Error")
	case LostAnswer:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>"))
	case PrimaryRateLimit:
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Used", "5000")
		w.Header().Set("X-RateLimit-Resource", "core")
		w.Header().Set("X-RateLimit-Reset", fmt.Sprint(reset.Unix()))
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = fmt.Fprintf(w, `{"message":"API rate limit exceeded for installation ID 1.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api","status":"403"}`)
	case SecondaryRateLimit:
		w.Header().Set("Retry-After", fmt.Sprint(int(f.RetryAfter.Seconds())))
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = fmt.Fprintf(w, `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits","status":"403"}`)
	case TooManyRequests:
		w.Header().Set("Retry-After", fmt.Sprint(int(f.RetryAfter.Seconds())))
		writeError(w, http.StatusTooManyRequests, "Too Many Requests")
	default:
		writeError(w, http.StatusInternalServerError, "unknown fault "+string(f.Kind))
	}
}
