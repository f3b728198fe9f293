// Package fleet is the community that brings the metrics of nodes nobody
// can scrape (phones behind carrier NATs) to one node that can: a
// collector.
//
// A reporter sends, every interval, a compact snapshot of its own walkie_
// series (Families) to one collector, named by its peer ID, and only once
// that collector is an authenticated member of "fleet": so a report
// travels sealed to the proven key, and while there is no such path it
// costs nothing. A collector keeps each reporter's last complete report,
// within bounds (reporters, series, one report per MinGap each), and
// serves them all as one Prometheus text exposition, every series
// labelled with its reporter's peer ID (Handler, /metrics/fleet in
// bin/walkie). A reporter that stops leaves it after three of its
// intervals. Both count what they do as walkie_fleet_* series (the Fleet
// is a prometheus.Collector).
//
// It is a community rather than a server because the overlay already
// reaches phones behind NATs, proves who they are and seals what they
// send: the report rides on the path the walk keeps open (docs/metrics.md,
// "A fleet").
package fleet

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/proto"
)

// Name is the community's name.
const Name = "fleet"

// Defaults of Config.
const (
	DefaultMaxReporters = 1000
	DefaultMaxSeries    = 200
	DefaultMinGap       = 10 * time.Second
	DefaultInterval     = time.Minute
	// MobileInterval is the interval of a node in the mobile profile.
	MobileInterval = 5 * time.Minute
	// CollectorKeepAlive is the core.Config.KeepAlive a collector's node
	// runs with: longer than any reporter's (20 s, 25 s in the mobile
	// profile), so that reporters ping the collector, not it them. The
	// collector is public: its own mapping needs no pings, and with 1,000
	// reporters its own would be 3,000 datagrams a minute.
	CollectorKeepAlive = 40 * time.Second
)

// Config configures a Fleet: a collector (Collect), a reporter (ReportTo),
// or both.
type Config struct {
	// Collect makes the node a collector: it takes reports from
	// authenticated members and serves them (Handler). Default false.
	Collect bool
	// Accept lists the peer IDs a collector takes reports from. Nil takes
	// any authenticated member, up to MaxReporters; an empty non-nil list
	// takes none. Default nil.
	Accept []proto.ID
	// MaxReporters bounds the reporters a collector holds; a report from
	// one more is dropped (too_many_reporters). Default 1000.
	MaxReporters int
	// MaxSeries bounds one report, in series: a collector drops a larger
	// report (too_many_series), a reporter sends its first MaxSeries.
	// Default 200.
	MaxSeries int
	// MinGap is the shortest time between the starts of two reports a
	// collector takes from one reporter; the ones between are dropped
	// (rate_limited). Keep it under 0.9 times the reporters' Interval
	// (their jitter). Default 10 s.
	MinGap time.Duration
	// ReportTo is the peer ID of the collector this node reports to; the
	// zero ID reports to nobody. Default zero.
	ReportTo proto.ID
	// Interval is the time between two reports, whole seconds from
	// MinInterval to MaxInterval; each varies by up to 10% either way.
	// Default 60 s (the mobile profile's is MobileInterval, 5 min).
	Interval time.Duration
	// Gatherer is the node's registry, read at every report. Required
	// with ReportTo.
	Gatherer prometheus.Gatherer
}

// Fleet is the community. Create it with New.
type Fleet struct {
	cfg    Config
	fams   []Family
	byName map[string]int
	coll   *collector // nil unless cfg.Collect
	rep    reporterState
	env    community.Env // set by Start
	wg     sync.WaitGroup
	descs  descs
}

// New checks cfg, fills its defaults and returns the community.
func New(cfg Config) (*Fleet, error) {
	if cfg.MaxReporters <= 0 {
		cfg.MaxReporters = DefaultMaxReporters
	}
	if cfg.MaxSeries <= 0 {
		cfg.MaxSeries = DefaultMaxSeries
	}
	if cfg.MinGap <= 0 {
		cfg.MinGap = DefaultMinGap
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	switch {
	case !cfg.ReportTo.IsZero() && cfg.Gatherer == nil:
		return nil, errors.New("fleet: a reporter needs Config.Gatherer")
	case cfg.Interval < MinInterval || cfg.Interval > MaxInterval || cfg.Interval%time.Second != 0:
		return nil, fmt.Errorf("fleet: interval %v: want whole seconds from %v to %v", cfg.Interval, MinInterval, MaxInterval)
	}
	f := &Fleet{cfg: cfg, fams: Families(), byName: map[string]int{}, descs: newDescs()}
	for i, fam := range f.fams {
		f.byName[fam.Name] = i
	}
	if cfg.Collect {
		f.coll = newCollector(cfg)
	}
	return f, nil
}

// Name implements community.Community.
func (f *Fleet) Name() string { return Name }

// Policy admits only authenticated members: a report names its sender by
// the key it proved, and travels sealed.
func (f *Fleet) Policy() community.Policy { return community.Policy{Authenticated: true} }

// Messages declares the report on a collector; a node that only reports
// takes none (one sent to it is dropped as unknown_type).
func (f *Fleet) Messages() []community.MessageSpec {
	if f.coll == nil {
		return nil
	}
	return []community.MessageSpec{{Type: TypeReport, Name: "report", MaxSize: MaxBody, Handle: f.onReport}}
}

// Start keeps env and starts the reporter's goroutine, if it reports.
func (f *Fleet) Start(ctx context.Context, env community.Env) error {
	f.env = env
	if !f.cfg.ReportTo.IsZero() {
		f.wg.Add(1)
		go f.reportLoop(ctx)
	}
	return nil
}

// Close waits for the reporter's goroutine, which ctx ended.
func (f *Fleet) Close() error {
	f.wg.Wait()
	return nil
}

// onReport takes one part. Refusals are counted, not returned: they are
// the collector's business, not the node's drop counters'.
func (f *Fleet) onReport(_ context.Context, from community.Peer, body []byte) error {
	f.coll.ingest(from, body, time.Now())
	return nil
}

// Handler serves the fleet in the Prometheus text format (GET and HEAD):
// bin/walkie mounts it at /metrics/fleet. Nil unless the node collects.
func (f *Fleet) Handler() http.Handler {
	if f.coll == nil {
		return nil
	}
	return http.HandlerFunc(f.serveFleet)
}

// CollectorStats returns the collector's counters (zero unless it
// collects), after removing the reporters that went silent.
func (f *Fleet) CollectorStats() CollectorStats {
	if f.coll == nil {
		return CollectorStats{}
	}
	return f.coll.counters(time.Now())
}

// ReporterStats returns the reporter's counters.
func (f *Fleet) ReporterStats() ReporterStats {
	f.rep.mu.Lock()
	defer f.rep.mu.Unlock()
	return f.rep.stats
}
