package fleet

import (
	"github.com/prometheus/client_golang/prometheus"
)

var _ prometheus.Collector = (*Fleet)(nil)

// descs are the walkie_fleet_* series: a collector's and a reporter's.
// Each is read from the counters at scrape time, so the report path
// touches no Prometheus object.
type descs struct {
	datagrams, reports, drops, reporters, series, expired *prometheus.Desc
	sent, sentParts, sentBytes, omitted, skipped          *prometheus.Desc
}

func newDescs() descs {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return descs{
		datagrams: d("walkie_fleet_datagrams_received_total", "Report parts received by this collector, before any check."),
		reports:   d("walkie_fleet_reports_received_total", "Complete reports this collector took into the fleet view."),
		drops:     d("walkie_fleet_drops_total", "Report parts (or whole reports) this collector dropped, by reason.", "reason"),
		reporters: d("walkie_fleet_reporters", "Reporters in the fleet view, each with a complete report."),
		series:    d("walkie_fleet_series", "Series the fleet view holds, all reporters together."),
		expired:   d("walkie_fleet_reporters_expired_total", "Reporters that left the fleet view after three silent intervals."),
		sent:      d("walkie_fleet_reports_sent_total", "Reports this node sent whole to its collector."),
		sentParts: d("walkie_fleet_report_datagrams_sent_total", "Datagrams this node's reports took."),
		sentBytes: d("walkie_fleet_report_bytes_sent_total", "Bytes of body this node's reports took."),
		omitted:   d("walkie_fleet_series_omitted_total", "Series left out of this node's reports by their bounds."),
		skipped:   d("walkie_fleet_reports_skipped_total", "Reports that were due and did not go, by reason.", "reason"),
	}
}

// Describe implements prometheus.Collector: a collector's series if it
// collects, a reporter's if it reports.
func (f *Fleet) Describe(ch chan<- *prometheus.Desc) {
	d := &f.descs
	if f.coll != nil {
		for _, x := range []*prometheus.Desc{d.datagrams, d.reports, d.drops, d.reporters, d.series, d.expired} {
			ch <- x
		}
	}
	if !f.cfg.ReportTo.IsZero() {
		for _, x := range []*prometheus.Desc{d.sent, d.sentParts, d.sentBytes, d.omitted, d.skipped} {
			ch <- x
		}
	}
}

// Collect implements prometheus.Collector. Every reason is exported from
// the start, at 0.
func (f *Fleet) Collect(ch chan<- prometheus.Metric) {
	d := &f.descs
	counter := func(desc *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), labels...)
	}
	if f.coll != nil {
		st := f.CollectorStats()
		counter(d.datagrams, st.Datagrams)
		counter(d.reports, st.Reports)
		for i, name := range dropNames() {
			counter(d.drops, st.Drops[i], name)
		}
		ch <- prometheus.MustNewConstMetric(d.reporters, prometheus.GaugeValue, float64(st.Reporters))
		ch <- prometheus.MustNewConstMetric(d.series, prometheus.GaugeValue, float64(st.Series))
		counter(d.expired, st.Expired)
	}
	if !f.cfg.ReportTo.IsZero() {
		st := f.ReporterStats()
		counter(d.sent, st.Reports)
		counter(d.sentParts, st.Datagrams)
		counter(d.sentBytes, st.Bytes)
		counter(d.omitted, st.Omitted)
		for i, name := range skipNames() {
			counter(d.skipped, st.Skipped[i], name)
		}
	}
}
