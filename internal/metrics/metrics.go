// Package metrics exposes Rookery's Prometheus metrics. It imports no other
// Rookery package: cli wires its methods into the small hook structs of
// imapserver, delivery and auth, so those packages never see Prometheus.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// StoreSizes are the store's gauges.
type StoreSizes struct {
	Accounts, Messages, Bytes int64
	// IndexPending counts the messages whose search text the index has
	// not taken in yet; IndexLag is how long the oldest has waited.
	IndexPending int64
	IndexLag     time.Duration
}

// StoreStats reports store sizes at scrape time.
type StoreStats func(ctx context.Context) (StoreSizes, error)

// Metrics holds the collectors of one server process.
type Metrics struct {
	reg *prometheus.Registry

	connsOpen    prometheus.Gauge
	connsTotal   prometheus.Counter
	commands     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	deliveries   *prometheus.CounterVec
	authFailures *prometheus.CounterVec
	connsRefused *prometheus.CounterVec
	throttled    *prometheus.CounterVec
}

// New registers the collectors; stats may be nil.
func New(stats StoreStats) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.connsOpen = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "rookery_imap_connections", Help: "Open IMAP connections."})
	m.connsTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rookery_imap_connections_total", Help: "IMAP connections accepted."})
	m.commands = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rookery_imap_commands_total", Help: "IMAP commands by name and result (OK, NO, BAD)."},
		[]string{"command", "result"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "rookery_imap_command_duration_seconds", Help: "IMAP command latency by name.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}},
		[]string{"command"})
	m.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rookery_deliveries_total", Help: "Message deliveries per recipient, by result."},
		[]string{"result"})
	m.authFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rookery_auth_failures_total", Help: "Failed authentications by mechanism."},
		[]string{"mechanism"})
	m.connsRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rookery_imap_connections_refused_total",
		Help: "IMAP connections refused by a connection limit, by the limit's configuration key (max_conns_per_user: logins refused)."},
		[]string{"reason"})
	m.throttled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rookery_auth_throttled_total",
		Help: "Authentication attempts the login throttle did not admit at once, by outcome (delayed, refused, cancelled)."},
		[]string{"outcome"})
	m.reg.MustRegister(m.connsOpen, m.connsTotal, m.commands, m.latency, m.deliveries, m.authFailures,
		m.connsRefused, m.throttled,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if stats != nil {
		m.reg.MustRegister(storeCollector{stats})
	}
	return m
}

// ConnOpened and ConnClosed count IMAP connections.
func (m *Metrics) ConnOpened() { m.connsOpen.Inc(); m.connsTotal.Inc() }

// ConnClosed counts a closed IMAP connection.
func (m *Metrics) ConnClosed() { m.connsOpen.Dec() }

// Command records one IMAP command (name upper-case, result OK/NO/BAD).
func (m *Metrics) Command(name, result string, d time.Duration) {
	m.commands.WithLabelValues(name, result).Inc()
	m.latency.WithLabelValues(name).Observe(d.Seconds())
}

// Delivered records one recipient's delivery result.
func (m *Metrics) Delivered(result string) { m.deliveries.WithLabelValues(result).Inc() }

// AuthFailed records a failed authentication.
func (m *Metrics) AuthFailed(mechanism string) { m.authFailures.WithLabelValues(mechanism).Inc() }

// ConnRefused records a connection (or, for max_conns_per_user, a
// login) refused by the connection limit reason, named by its
// configuration key.
func (m *Metrics) ConnRefused(reason string) { m.connsRefused.WithLabelValues(reason).Inc() }

// LoginThrottled records an authentication attempt the login throttle
// did not admit at once: outcome "delayed" (admitted after waiting),
// "refused" (too many attempts waiting) or "cancelled" (given up while
// waiting).
func (m *Metrics) LoginThrottled(outcome string) { m.throttled.WithLabelValues(outcome).Inc() }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

var (
	descAccounts = prometheus.NewDesc("rookery_store_accounts", "Accounts in the store.", nil, nil)
	descMessages = prometheus.NewDesc("rookery_store_messages", "Messages in the store (all accounts).", nil, nil)
	descBytes    = prometheus.NewDesc("rookery_store_bytes", "Sum of message sizes (all accounts).", nil, nil)
	descPending  = prometheus.NewDesc("rookery_search_index_pending", "Messages whose search text is not indexed yet (searched by reading them).", nil, nil)
	descLag      = prometheus.NewDesc("rookery_search_index_lag_seconds", "How long the oldest text not indexed yet has waited.", nil, nil)
)

type storeCollector struct{ stats StoreStats }

func (c storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descAccounts
	ch <- descMessages
	ch <- descBytes
	ch <- descPending
	ch <- descLag
}

func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := c.stats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descAccounts, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(descAccounts, prometheus.GaugeValue, float64(s.Accounts))
	ch <- prometheus.MustNewConstMetric(descMessages, prometheus.GaugeValue, float64(s.Messages))
	ch <- prometheus.MustNewConstMetric(descBytes, prometheus.GaugeValue, float64(s.Bytes))
	ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(s.IndexPending))
	ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, s.IndexLag.Seconds())
}
