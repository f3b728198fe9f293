package fleet

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/proto"
)

// expireAfter is how many of its intervals a reporter may stay silent
// before it leaves the fleet view: two lost reports in a row keep it.
const expireAfter = 3

// Drop reasons of a collector (walkie_fleet_drops_total{reason}): a fixed
// set, all exported from the start.
const (
	dropMalformed        = iota // a part that does not decode, or breaks the format's rules
	dropVersion                 // a part of another report version
	dropUnauthenticated         // from a peer that did not prove its key (the Policy drops those first)
	dropNotAccepted             // from a peer ID the accept list does not name
	dropRateLimited             // a new report sooner than MinGap after the last one began
	dropTooManyReporters        // from a new reporter while MaxReporters are held
	dropTooManySeries           // a whole report: more than MaxSeries series
	dropDuplicate               // a part that already arrived
	dropIncomplete              // a whole report: a newer one began before all its parts came
	numDrops
)

// dropNames are the label values of the drop reasons, by reason.
func dropNames() [numDrops]string {
	return [numDrops]string{"malformed", "version", "unauthenticated", "not_accepted", "rate_limited",
		"too_many_reporters", "too_many_series", "duplicate", "incomplete"}
}

// collector holds the fleet view: each reporter's last complete report.
type collector struct {
	fams      []Family
	accept    map[proto.ID]bool // nil: any authenticated reporter
	max       int               // reporters
	maxSeries int               // per reporter
	minGap    time.Duration

	mu        sync.Mutex
	reporters map[proto.ID]*reporter
	series    int // committed series of all reporters
	stats     CollectorStats
}

// reporter is what the collector holds for one reporter.
type reporter struct {
	label string // its peer ID, the peer label's value
	// series is its last complete report, sorted by family and labels.
	// Never changed once committed (a scrape may be writing it out): a
	// new report replaces the slice.
	series    []Series
	until     time.Time // it leaves the view then, unless it reports
	lastStart time.Time // when the last report it was allowed to start began

	// The report in assembly: at most one.
	pending bool
	seq     uint32
	count   int
	got     uint16 // a bit per part that arrived
	buf     []Series
	ival    time.Duration
}

// CollectorStats are a collector's counters (walkie_fleet_* series).
type CollectorStats struct {
	Datagrams uint64           // report parts received, before any check
	Reports   uint64           // complete reports taken into the view
	Expired   uint64           // reporters that left the view after three silent intervals
	Drops     [numDrops]uint64 // by reason (dropNames); see the constants
	Reporters int              // reporters in the view now
	Series    int              // series they hold
}

// Dropped returns the count of one drop reason by its label value.
func (s CollectorStats) Dropped(reason string) uint64 {
	names := dropNames()
	if i := slices.Index(names[:], reason); i >= 0 {
		return s.Drops[i]
	}
	return 0
}

func newCollector(cfg Config) *collector {
	c := &collector{fams: Families(), max: cfg.MaxReporters, maxSeries: cfg.MaxSeries, minGap: cfg.MinGap,
		reporters: map[proto.ID]*reporter{}}
	if cfg.Accept != nil {
		c.accept = make(map[proto.ID]bool, len(cfg.Accept))
		for _, id := range cfg.Accept {
			c.accept[id] = true
		}
	}
	return c
}

// ingest takes one part from a member. It never returns an error: every
// refusal is counted by reason, so a hostile reporter's noise costs a
// counter, not a log line.
func (c *collector) ingest(from community.Peer, body []byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Datagrams++
	if !from.Authenticated {
		c.stats.Drops[dropUnauthenticated]++
		return
	}
	if c.accept != nil && !c.accept[from.ID] {
		c.stats.Drops[dropNotAccepted]++
		return
	}
	p, err := Decode(body)
	if err != nil {
		var ve *VersionError
		if errors.As(err, &ve) {
			c.stats.Drops[dropVersion]++
		} else {
			c.stats.Drops[dropMalformed]++
		}
		return
	}
	r := c.reporters[from.ID]
	if r == nil {
		if len(c.reporters) >= c.max {
			c.expire(now)
		}
		if len(c.reporters) >= c.max {
			c.stats.Drops[dropTooManyReporters]++
			return
		}
		r = &reporter{label: from.ID.String()}
		c.reporters[from.ID] = r
	}
	if !r.pending || p.Seq != r.seq {
		// A new report; the rate limit counts reports, not parts.
		if !r.lastStart.IsZero() && now.Sub(r.lastStart) < c.minGap {
			c.stats.Drops[dropRateLimited]++
			return
		}
		if r.pending {
			c.stats.Drops[dropIncomplete]++
		}
		r.pending, r.seq, r.count, r.got, r.buf, r.ival, r.lastStart = true, p.Seq, p.Count, 0, nil, p.Interval, now
		if r.series == nil {
			r.until = now.Add(expireAfter * p.Interval) // one that never completes a report goes too
		}
	}
	bit := uint16(1) << p.Index
	switch {
	case p.Count != r.count || p.Interval != r.ival || !c.known(p.Series):
		c.stats.Drops[dropMalformed]++
		r.pending = false
		return
	case r.got&bit != 0:
		c.stats.Drops[dropDuplicate]++
		return
	}
	r.got |= bit
	for _, s := range p.Series {
		if s.Family < len(c.fams) { // a newer reporter's families are skipped
			r.buf = append(r.buf, s)
		}
	}
	if len(r.buf) > c.maxSeries {
		c.stats.Drops[dropTooManySeries]++
		r.pending, r.buf = false, nil
		return
	}
	if r.got != 1<<r.count-1 {
		return
	}
	c.commit(r, now)
}

// known reports whether every series of a known family has the family's
// label count.
func (c *collector) known(series []Series) bool {
	for _, s := range series {
		if s.Family < len(c.fams) && len(s.Labels) != len(c.fams[s.Family].Labels) {
			return false
		}
	}
	return true
}

// commit makes r's assembled report its view, unless it names a series
// twice (a scraper would refuse the whole exposition).
func (c *collector) commit(r *reporter, now time.Time) {
	buf := r.buf
	r.pending, r.buf = false, nil
	slices.SortFunc(buf, compareSeries)
	for i := 1; i < len(buf); i++ {
		if compareSeries(buf[i-1], buf[i]) == 0 {
			c.stats.Drops[dropMalformed]++
			return
		}
	}
	c.series += len(buf) - len(r.series)
	r.series = slices.Clip(buf)
	r.until = now.Add(expireAfter * r.ival)
	c.stats.Reports++
}

// compareSeries orders series by family, then label values.
func compareSeries(a, b Series) int {
	return cmp.Or(cmp.Compare(a.Family, b.Family), slices.Compare(a.Labels, b.Labels))
}

// expire removes the reporters that stayed silent too long. Caller holds mu.
func (c *collector) expire(now time.Time) {
	for id, r := range c.reporters {
		if now.After(r.until) {
			c.series -= len(r.series)
			delete(c.reporters, id)
			c.stats.Expired++
		}
	}
}

// view is one reporter in a snapshot.
type view struct {
	label  string
	series []Series // immutable
}

// counters returns the counters, after removing the reporters that went
// silent.
func (c *collector) counters(now time.Time) CollectorStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	st := c.stats
	st.Series = c.series
	for _, r := range c.reporters {
		if r.series != nil {
			st.Reporters++
		}
	}
	return st
}

// snapshot returns the reporters with a complete report, by peer ID, and
// the counters, after removing the ones that went silent.
func (c *collector) snapshot(now time.Time) ([]view, CollectorStats) {
	c.mu.Lock()
	c.expire(now)
	views := make([]view, 0, len(c.reporters))
	for _, r := range c.reporters {
		if r.series != nil {
			views = append(views, view{r.label, r.series})
		}
	}
	st := c.stats
	st.Reporters, st.Series = len(views), c.series
	c.mu.Unlock()
	slices.SortFunc(views, func(a, b view) int { return strings.Compare(a.label, b.label) })
	return views, st
}
