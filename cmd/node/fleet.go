package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/plugins/fleet"
	"github.com/walkie-p2p/walkie/proto"
)

// The fleet's flags (docs/metrics.md, "A fleet"): -collector,
// -collector-accept and -report-to.

// fleetIntervalEnv names the environment variable that shortens the report
// interval, for tests only: a Go duration of whole seconds, 1s to 1h. It
// sets the interval of a reporter and, on a collector, the shortest gap
// between two reports it takes (half of it).
const fleetIntervalEnv = "WALKIE_FLEET_TEST_INTERVAL"

// Bounds of the -collector-accept file.
const (
	maxAcceptBytes = 4 << 20 // 100,000 IDs with comments
	maxAcceptIDs   = 100_000
)

// reportTarget is -report-to: the collector's peer ID and where to reach it.
type reportTarget struct {
	id    proto.ID
	entry bootstrapEntry
}

// checkFleet validates the fleet's flags and the test variable, reads the
// accept file, and adds the -report-to address to the bootstrap list.
func checkFleet(o *options, getenv func(string) string) error {
	switch {
	case o.acceptFile != "" && !o.collector:
		return badFlag("collector-accept", o.acceptFile, "needs -collector")
	case o.acceptFile != "":
		var err error
		if o.accept, err = readAccept(o.acceptFile); err != nil {
			return err
		}
	}
	if o.rawReportTo != "" {
		t, err := parseReportTo(o.rawReportTo)
		if err != nil {
			return err
		}
		o.reportTo = t
		if !slices.ContainsFunc(o.bootstrap, func(e bootstrapEntry) bool { return e.text == t.entry.text }) {
			o.bootstrap = append(o.bootstrap, t.entry)
		}
	}
	if v := getenv(fleetIntervalEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < fleet.MinInterval || d > fleet.MaxInterval || d%time.Second != 0 {
			return &usageError{err: fmt.Errorf("%s %q: want whole seconds from 1s to 1h", fleetIntervalEnv, v)}
		}
		o.fleetInterval = d
	}
	return nil
}

// checkFleetNames rejects what would clash with the fleet community: a
// node that runs it may not announce it too, and it counts toward the
// communities a node may have.
func checkFleetNames(o *options) error {
	if !o.collector && o.reportTo == nil {
		return nil
	}
	if slices.Contains(o.announce, fleet.Name) {
		return badFlag("announce", o.rawAnnounce, "community %q runs with -collector or -report-to; drop it from -announce", fleet.Name)
	}
	if n := len(o.communities) + len(o.announce) + 1; n > proto.MaxCommunities {
		return badFlag("communities", o.rawCommunities, "%d communities with the fleet of -collector or -report-to, at most %d", n, proto.MaxCommunities)
	}
	return nil
}

// parseReportTo parses -report-to ID@HOST:PORT.
func parseReportTo(s string) (*reportTarget, error) {
	idText, addr, ok := strings.Cut(s, "@")
	if !ok {
		return nil, badFlag("report-to", s, "want PEER-ID@host:port: the collector's peer ID (its /status) and an address that reaches it")
	}
	id, err := uuid.Parse(idText)
	if err != nil || id == uuid.Nil || len(idText) != 36 {
		return nil, badFlag("report-to", s, "%q is not a peer ID (a UUID such as the peer_id of the collector's /status)", idText)
	}
	e, err := parseEntry("report-to", s, addr)
	if err != nil {
		return nil, err
	}
	return &reportTarget{id: proto.ID(id), entry: e}, nil
}

// readAccept reads the -collector-accept file: one peer ID per line; blank
// lines, and everything from a # on, are ignored.
func readAccept(path string) ([]proto.ID, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, badFlag("collector-accept", path, "cannot read it: %v", errors.Unwrap(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxAcceptBytes+1))
	switch {
	case err != nil:
		return nil, badFlag("collector-accept", path, "cannot read it: %v", err)
	case len(b) > maxAcceptBytes:
		return nil, badFlag("collector-accept", path, "larger than %d bytes", maxAcceptBytes)
	}
	var ids []proto.ID
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(nil, maxAcceptBytes)
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		if text = strings.TrimSpace(text); text == "" {
			continue
		}
		id, err := uuid.Parse(text)
		if err != nil || len(text) != 36 {
			return nil, badFlag("collector-accept", path, "line %d: %q is not a peer ID", line, text)
		}
		if ids = append(ids, proto.ID(id)); len(ids) > maxAcceptIDs {
			return nil, badFlag("collector-accept", path, "more than %d peer IDs", maxAcceptIDs)
		}
	}
	if len(ids) == 0 {
		return nil, badFlag("collector-accept", path, "no peer IDs in it")
	}
	return ids, nil
}

// addFleet appends the fleet community to list when the node collects or
// reports. A collector gets room in its peer table for every reporter
// (each must be a peer to be heard), no cap per network unless
// -peers-per-network says otherwise, and lets its reporters ping it
// (fleet.CollectorKeepAlive). The reporter reads gather at every report.
// On error it closes list.
func addFleet(list []community.Community, opts *options, cfg *core.Config, gather prometheus.Gatherer) ([]community.Community, *fleet.Fleet, error) {
	if !opts.collector && opts.reportTo == nil {
		return list, nil, nil
	}
	fc := fleet.Config{Collect: opts.collector, Accept: opts.accept, Interval: fleet.DefaultInterval, Gatherer: gather}
	if opts.profile == "mobile" {
		fc.Interval = fleet.MobileInterval
	}
	if opts.fleetInterval > 0 {
		fc.Interval, fc.MinGap = opts.fleetInterval, opts.fleetInterval/2
	}
	if opts.reportTo != nil {
		fc.ReportTo = opts.reportTo.id
	}
	f, err := fleet.New(fc)
	if err != nil {
		closeAll(list)
		return nil, nil, err
	}
	if opts.collector {
		cfg.MaxPeers += fleet.DefaultMaxReporters
		cfg.KeepAlive = fleet.CollectorKeepAlive
		if !opts.perNetworkSet {
			// The phones of one carrier share a few public /24s: the cap
			// that keeps an eclipse out would keep all but 16 of them out.
			cfg.PrefixPeers = -1
		}
	}
	return append(list, f), f, nil
}

// lateGatherer is the node's registry for the reporter, which exists
// before the registry does (the monitor labels its series with the
// communities, the fleet among them). set runs before the node starts,
// and so before the first report.
type lateGatherer struct {
	reg atomic.Pointer[prometheus.Registry]
}

func (g *lateGatherer) set(reg *prometheus.Registry) { g.reg.Store(reg) }

// Gather implements prometheus.Gatherer.
func (g *lateGatherer) Gather() ([]*dto.MetricFamily, error) {
	if reg := g.reg.Load(); reg != nil {
		return reg.Gather()
	}
	return nil, errors.New("walkie: the registry is not ready")
}
