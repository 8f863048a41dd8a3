package app

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sentinel-ci/sentinel/store"
)

// Metrics is Sentinel's Prometheus registry. It is per server (not the
// global registry) so tests can run several servers in one process.
type Metrics struct {
	Registry    *prometheus.Registry
	httpLatency *prometheus.HistogramVec
	Webhooks    *prometheus.CounterVec
}

// NewMetrics registers the HTTP, webhook and queue metrics.
func NewMetrics(db *store.DB) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		httpLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sentinel_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern, method and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route", "status"}),
		Webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sentinel_webhook_deliveries_total",
			Help: "Webhook deliveries by event and outcome (accepted, ignored, duplicate, refused, bad_signature, malformed, too_large, error).",
		}, []string{"event", "outcome"}),
	}
	m.Registry.MustRegister(m.httpLatency, m.Webhooks,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if db != nil {
		m.Registry.MustRegister(queueCollector{db: db})
	}
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

func (m *Metrics) observeHTTP(method, route string, status int, d time.Duration) {
	m.httpLatency.WithLabelValues(method, route, strconv.Itoa(status)).Observe(d.Seconds())
}

var queueDepthDesc = prometheus.NewDesc("sentinel_river_jobs",
	"River jobs by queue and state, read from the database at scrape time.", []string{"queue", "state"}, nil)

// queueCollector reads River's job table at scrape time, so every process
// reports the same cluster-wide depth whichever one is scraped.
type queueCollector struct{ db *store.DB }

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueDepthDesc }

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := store.CountJobs(ctx, c.db)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueDepthDesc, err)
		return
	}
	for _, n := range counts {
		ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(n.Count), n.Queue, n.State)
	}
}
