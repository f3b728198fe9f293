package fleet

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/walkie-p2p/walkie/community"
)

// Why a due report did not go (walkie_fleet_reports_skipped_total{reason}).
const (
	skipNoPath = iota // the collector is not an authenticated member: no sealed path to it
	skipBusy          // the node refused a part (its send queue or rate): the rest of the report was not sent
	skipGather        // the node's own registry could not be read
	numSkips
)

// skipNames are the label values of the skip reasons.
func skipNames() [numSkips]string { return [numSkips]string{"no_path", "busy", "gather"} }

// ReporterStats are a reporter's counters (walkie_fleet_* series).
type ReporterStats struct {
	Reports   uint64           // reports sent whole
	Datagrams uint64           // parts sent
	Bytes     uint64           // bytes of body those parts held
	Omitted   uint64           // series left out of reports: over MaxSeries or MaxParts, or out of the format's bounds
	Skipped   [numSkips]uint64 // due reports that did not go, by reason (skipNames)
}

// reporterState is the reporter's side: its counters and next report
// number, shared between its goroutine and scrapes.
type reporterState struct {
	mu    sync.Mutex
	seq   uint32
	stats ReporterStats
}

// reportLoop sends a report every interval (±10%, so that a fleet started
// together does not report in step) while the collector is an
// authenticated member. The first goes as soon as it is one. While it is
// not, a due report looks again every poll (reading the node's view: no
// packet) and goes once it is; every interval without a path counts one
// skip (the first interval after start, spent finding the collector,
// counts one only if it passes without).
func (f *Fleet) reportLoop(ctx context.Context) {
	defer f.wg.Done()
	ival := f.cfg.Interval
	poll := min(ival/10, 5*time.Second)
	now := time.Now()
	due, skipAt := now, now.Add(ival)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now = time.Now()
		switch {
		case now.Before(due):
			t.Reset(due.Sub(now))
		case !f.reachable():
			if !now.Before(skipAt) {
				f.rep.count(func(s *ReporterStats) { s.Skipped[skipNoPath]++ })
				skipAt = now.Add(ival)
			}
			t.Reset(poll)
		default:
			f.sendReport()
			due = now.Add(ival - ival/10 + rand.N(ival/5+1))
			skipAt = due
			t.Reset(due.Sub(now))
		}
	}
}

// reachable reports whether the collector is an authenticated member now:
// the only peer a report goes to, and only sealed.
func (f *Fleet) reachable() bool {
	return slices.ContainsFunc(f.env.Members(), func(p community.Peer) bool {
		return p.ID == f.cfg.ReportTo && p.Authenticated
	})
}

// sendReport gathers this node's series and sends them to the collector.
func (f *Fleet) sendReport() {
	series, err := f.gather()
	if err != nil {
		f.env.Logger().Debug("report skipped: cannot read the registry", "err", err)
		f.rep.count(func(s *ReporterStats) { s.Skipped[skipGather]++ })
		return
	}
	omitted := max(len(series)-f.cfg.MaxSeries, 0)
	series = series[:len(series)-omitted]
	f.rep.mu.Lock()
	seq := f.rep.seq
	f.rep.seq++
	f.rep.mu.Unlock()
	parts, dropped := EncodeReport(seq, f.cfg.Interval, series)
	f.rep.count(func(s *ReporterStats) { s.Omitted += uint64(omitted + dropped) })
	for _, b := range parts {
		if err := f.env.Send(f.cfg.ReportTo, TypeReport, b); err != nil {
			f.env.Logger().Debug("report not sent", "err", err)
			why := skipNoPath // it left since reachable said yes
			if errors.Is(err, community.ErrBusy) {
				why = skipBusy
			}
			f.rep.count(func(s *ReporterStats) { s.Skipped[why]++ })
			return
		}
		f.rep.count(func(s *ReporterStats) { s.Datagrams++; s.Bytes += uint64(len(b)) })
	}
	f.rep.count(func(s *ReporterStats) { s.Reports++ })
}

// count changes the counters under the lock.
func (r *reporterState) count(change func(*ReporterStats)) {
	r.mu.Lock()
	change(&r.stats)
	r.mu.Unlock()
}

// gather reads the families of Families from the node's registry, sorted
// by family and labels. A series whose labels are not its family's is
// skipped: a registry of another release, say.
func (f *Fleet) gather() ([]Series, error) {
	mfs, err := f.cfg.Gatherer.Gather()
	if err != nil && len(mfs) == 0 {
		return nil, err
	}
	var out []Series
	for _, mf := range mfs {
		fi, ok := f.byName[mf.GetName()]
		if !ok {
			continue
		}
		fam := &f.fams[fi]
		for _, m := range mf.GetMetric() {
			var v float64
			switch {
			case fam.Kind == Counter && mf.GetType() == dto.MetricType_COUNTER:
				v = m.GetCounter().GetValue()
			case fam.Kind == Gauge && mf.GetType() == dto.MetricType_GAUGE:
				v = m.GetGauge().GetValue()
			default:
				continue
			}
			if labels, ok := labelValues(fam.Labels, m.GetLabel()); ok {
				out = append(out, Series{Family: fi, Labels: labels, Value: v})
			}
		}
	}
	slices.SortFunc(out, compareSeries)
	return out, nil
}

// labelValues returns the values of names, in their order, if pairs has
// exactly those labels.
func labelValues(names []string, pairs []*dto.LabelPair) ([]string, bool) {
	if len(pairs) != len(names) {
		return nil, false
	}
	if len(names) == 0 {
		return nil, true
	}
	out := make([]string, len(names))
	for i, n := range names {
		j := slices.IndexFunc(pairs, func(p *dto.LabelPair) bool { return p.GetName() == n })
		if j < 0 {
			return nil, false
		}
		out[i] = pairs[j].GetValue()
	}
	return out, true
}
