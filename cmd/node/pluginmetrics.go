package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/plugins/host"
)

var _ pluginCounts = (*host.Plugin)(nil)

// pluginCounts is what the plugin host counts for one plugin
// (*host.Plugin implements it).
type pluginCounts interface {
	Name() string
	Dropped() int64
	Restarts() int64
}

// pluginCollector exports the plugin host's counters: an operator must see a
// plugin that keeps crashing, or that drops messages while it is down,
// without reading the node's log. The host counts with atomics; a scrape
// reads them, so the message path does not change. One series per loaded
// plugin, labelled with its community: bounded by the -plugin flags.
type pluginCollector struct {
	plugins           []pluginCounts
	dropped, restarts *prometheus.Desc
}

func newPluginCollector(cs []community.Community) *pluginCollector {
	pc := &pluginCollector{
		dropped: prometheus.NewDesc("walkie_plugin_messages_dropped_total",
			"Messages for an out-of-process plugin dropped because it was down, hung or failed to answer.",
			[]string{"community"}, nil),
		restarts: prometheus.NewDesc("walkie_plugin_restarts_total",
			"Times an out-of-process plugin was restarted after it died or hung.",
			[]string{"community"}, nil),
	}
	for _, c := range cs {
		if p, ok := c.(pluginCounts); ok {
			pc.plugins = append(pc.plugins, p)
		}
	}
	return pc
}

// Describe implements prometheus.Collector.
func (pc *pluginCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pc.dropped
	ch <- pc.restarts
}

// Collect implements prometheus.Collector.
func (pc *pluginCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range pc.plugins {
		ch <- prometheus.MustNewConstMetric(pc.dropped, prometheus.CounterValue, float64(p.Dropped()), p.Name())
		ch <- prometheus.MustNewConstMetric(pc.restarts, prometheus.CounterValue, float64(p.Restarts()), p.Name())
	}
}
