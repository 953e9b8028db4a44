package rendezvous

import (
	"net/http"
	"time"

	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// nodeMetrics are what an operator watches: requests by operation and
// outcome (a lookup answered "not_found" is a guess or a typo; many of
// them, someone guessing codes), refusals for rate, the store's latency
// and errors. libp2p's own (connections, the relay's reservations and
// bytes, resource manager) are registered on the same registry.
type nodeMetrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	rateLimited  *prometheus.CounterVec
	storeLatency *prometheus.HistogramVec
	storeErrors  *prometheus.CounterVec
}

const metricsNamespace = "assist_rendezvous"

func newNodeMetrics() *nodeMetrics {
	m := &nodeMetrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "requests_total",
			Help: "Requests answered, by operation (register, resolve, cancel, portal_*) and status (ok, not_found, expired, taken, ...).",
		}, []string{"op", "status"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "rate_limited_total",
			Help: "Requests refused for rate, by operation.",
		}, []string{"op"}),
		storeLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "store_seconds",
			Help:    "Time of one operation on the shared store, by operation.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"op"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "store_errors_total",
			Help: "Operations on the shared store that failed, by operation.",
		}, []string{"op"}),
	}
	m.reg.MustRegister(m.requests, m.rateLimited, m.storeLatency, m.storeErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// watchNode adds the gauges read from the running node.
func (m *nodeMetrics) watchNode(n *Node) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "codes",
			Help: "Code records held, those that ended but still answer why included (for a shared store: all nodes').",
		}, func() float64 {
			c, err := n.reg.Count()
			if err != nil {
				return -1
			}
			return float64(c)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "connected_peers",
			Help: "Peers connected to the node.",
		}, func() float64 { return float64(len(n.Host.Network().Peers())) }),
	)
}

// observeStore records one store operation.
func (m *nodeMetrics) observeStore(op string, took time.Duration, err error) {
	m.storeLatency.WithLabelValues(op).Observe(took.Seconds())
	if err != nil {
		m.storeErrors.WithLabelValues(op).Inc()
	}
}

// relayTracer reports the relay's reservations, circuits and bytes.
func (m *nodeMetrics) relayTracer() relayv2.MetricsTracer {
	return relayv2.NewMetricsTracer(relayv2.WithRegisterer(m.reg))
}

// MetricsHandler serves the node's metrics in Prometheus's format.
func (n *Node) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(n.metrics.reg, promhttp.HandlerOpts{Registry: n.metrics.reg})
}
