package fleet

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/walkie-p2p/walkie/community"
)

// The wire format of a report, version 1 (docs/metrics.md, "The report").
// A report is one snapshot of a reporter's series, split into parts of one
// datagram each (message type TypeReport). A part is a msgpack array:
//
//	[version, seq, part, parts, interval, [series...]]
//
//	version   uint: Version
//	seq       uint32: the report's number; all its parts carry it
//	part      uint: this part, 0 .. parts-1
//	parts     uint: how many parts the report has, 1 .. MaxParts
//	interval  uint: seconds until the reporter's next report, MinInterval .. MaxInterval
//	series    array of [family, [label values...], value]:
//	  family  uint: index in Families, below MaxFamilies
//	  labels  str each, at most MaxLabels of them, each at most MaxLabelLen bytes of UTF-8
//	  value   int (an integral value below 2^53), else float64
//
// Every part holds whole series, so a part decodes alone; the collector
// gathers a report's parts by seq and takes the report once all arrived.
const (
	// Version is the report format this package speaks: the first entry
	// of every part, read before anything else.
	Version = 1
	// TypeReport is the message type of a report's parts.
	TypeReport community.Type = 1
	// MaxBody is the largest part: what a community body to an
	// authenticated peer may be at most (over IPv6, the larger header).
	MaxBody = 1194
	// MaxParts bounds the parts of one report: 8 parts hold about 200
	// series, and the collector holds at most one report in assembly per
	// reporter.
	MaxParts = 8
	// MaxLabels and MaxLabelLen bound the label values of one series; the
	// longest value a node reports is an IPv6 address with a port (47 bytes).
	MaxLabels   = 4
	MaxLabelLen = 64
	// MinInterval and MaxInterval bound the interval a report announces.
	MinInterval = time.Second
	MaxInterval = time.Hour
)

// maxHeader bounds a part's bytes before its series: the array header,
// version, seq (uint32), part, parts, interval (at most 3600) and the
// series array's header.
const maxHeader = 1 + 1 + 5 + 1 + 1 + 3 + 3

// exactInt is 2^53: below it a float64 holds every integer exactly, so a
// value there travels as an int, in as few bytes as it needs.
const exactInt = 1 << 53

// Series is one sample of a report: a family, its label values and the
// value. On the wire it is an array of the three (AppendPart).
type Series struct {
	Family int      // index in Families, 0 .. MaxFamilies-1
	Labels []string // the family's label values, in its order
	Value  float64
}

// Part is one decoded datagram of a report.
type Part struct {
	Seq      uint32
	Index    int           // this part, 0 .. Count-1
	Count    int           // parts in the report, 1 .. MaxParts
	Interval time.Duration // whole seconds, MinInterval .. MaxInterval
	Series   []Series
}

// wirePart is a part as community.Decode reads it: wide integers, checked
// after. The msgpack library reads an array into a struct field by field
// (Decode insists that the part is an array; the encoder writes arrays).
type wirePart struct {
	Version  uint64
	Seq      uint64
	Index    uint64
	Count    uint64
	Interval uint64
	Series   []Series
}

// ErrMalformed is what Decode returns for a body that is not a part of
// this version's format; it matches community.ErrMalformed.
var ErrMalformed = fmt.Errorf("fleet: %w", community.ErrMalformed)

// VersionError is what Decode returns for a part of another version.
type VersionError struct{ Version uint64 }

// Error implements error.
func (e *VersionError) Error() string {
	return fmt.Sprintf("fleet: report of version %d, this node speaks %d", e.Version, Version)
}

// Decode reads one part. It never panics, allocates in proportion to body
// at most, and checks every bound of the format; what the series mean
// (a known family, the family's label count) is the collector's to check.
func Decode(body []byte) (Part, error) {
	v, ok := peekVersion(body)
	switch {
	case !ok:
		return Part{}, fmt.Errorf("%w: not an array led by a version", ErrMalformed)
	case v != Version:
		return Part{}, &VersionError{v}
	}
	var w wirePart
	if err := community.Decode(body, &w); err != nil {
		return Part{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	switch {
	case w.Version != Version:
		return Part{}, &VersionError{w.Version}
	case w.Seq > math.MaxUint32, w.Count < 1, w.Count > MaxParts, w.Index >= w.Count:
		return Part{}, fmt.Errorf("%w: seq %d, part %d of %d", ErrMalformed, w.Seq, w.Index, w.Count)
	case w.Interval < uint64(MinInterval/time.Second) || w.Interval > uint64(MaxInterval/time.Second):
		return Part{}, fmt.Errorf("%w: interval %d s", ErrMalformed, w.Interval)
	}
	for i := range w.Series {
		if err := checkSeries(&w.Series[i]); err != nil {
			return Part{}, err
		}
	}
	return Part{Seq: uint32(w.Seq), Index: int(w.Index), Count: int(w.Count),
		Interval: time.Duration(w.Interval) * time.Second, Series: w.Series}, nil
}

// checkSeries checks one series' bounds.
func checkSeries(s *Series) error {
	if s.Family < 0 || s.Family >= MaxFamilies || len(s.Labels) > MaxLabels {
		return fmt.Errorf("%w: series of family %d with %d labels", ErrMalformed, s.Family, len(s.Labels))
	}
	for _, l := range s.Labels {
		if len(l) > MaxLabelLen || !utf8.ValidString(l) {
			return fmt.Errorf("%w: label value of %d bytes, or not UTF-8", ErrMalformed, len(l))
		}
	}
	return nil
}

// peekVersion reads the version, the first entry of the array, without
// decoding the rest, whose shape another version may change.
func peekVersion(b []byte) (uint64, bool) {
	switch {
	case len(b) >= 2 && b[0] >= 0x91 && b[0] <= 0x9f:
		b = b[1:]
	case len(b) >= 4 && b[0] == 0xdc:
		b = b[3:]
	case len(b) >= 6 && b[0] == 0xdd:
		b = b[5:]
	default:
		return 0, false
	}
	switch c := b[0]; {
	case c < 0x80:
		return uint64(c), true
	case c == 0xcc && len(b) >= 2:
		return uint64(b[1]), true
	case c == 0xcd && len(b) >= 3:
		return uint64(binary.BigEndian.Uint16(b[1:])), true
	case c == 0xce && len(b) >= 5:
		return uint64(binary.BigEndian.Uint32(b[1:])), true
	case c == 0xcf && len(b) >= 9:
		return binary.BigEndian.Uint64(b[1:]), true
	}
	return 0, false
}

// AppendPart appends p's encoding to b. p must be within the format's
// bounds (EncodeReport makes such parts); the caller checks the size.
func AppendPart(b []byte, p *Part) []byte {
	b = appendArrayLen(b, 6)
	b = appendUint(b, Version)
	b = appendUint(b, uint64(p.Seq))
	b = appendUint(b, uint64(p.Index))
	b = appendUint(b, uint64(p.Count))
	b = appendUint(b, uint64(p.Interval/time.Second))
	b = appendArrayLen(b, len(p.Series))
	for i := range p.Series {
		b = appendSeries(b, &p.Series[i])
	}
	return b
}

// EncodeReport splits a report into parts of at most MaxBody bytes each,
// at most MaxParts of them, and returns their bodies. Series that break a
// bound, or that do not fit in MaxParts, are left out: omitted counts them.
func EncodeReport(seq uint32, interval time.Duration, series []Series) (parts [][]byte, omitted int) {
	interval = min(max(interval.Truncate(time.Second), MinInterval), MaxInterval)
	// Encode each series once, then pack them greedily.
	var enc []byte
	var ends []int // enc[ends[i-1]:ends[i]] is series i
	var kept []int // its index in series
	for i := range series {
		if checkSeries(&series[i]) != nil {
			omitted++
			continue
		}
		enc = appendSeries(enc, &series[i])
		ends = append(ends, len(enc))
		kept = append(kept, i)
	}
	var groups [][2]int // [first, end) into ends
	start, size := 0, 0
	for i := range ends {
		from := 0
		if i > 0 {
			from = ends[i-1]
		}
		n := ends[i] - from
		if size+n > MaxBody-maxHeader && i > start {
			groups = append(groups, [2]int{start, i})
			start, size = i, 0
		}
		size += n
	}
	groups = append(groups, [2]int{start, len(ends)})
	if len(groups) > MaxParts {
		omitted += len(ends) - groups[MaxParts][0]
		groups = groups[:MaxParts]
	}
	for i, g := range groups {
		p := Part{Seq: seq, Index: i, Count: len(groups), Interval: interval}
		for _, k := range kept[g[0]:g[1]] {
			p.Series = append(p.Series, series[k])
		}
		parts = append(parts, AppendPart(nil, &p))
	}
	return parts, omitted
}

// appendSeries appends [family, [labels...], value].
func appendSeries(b []byte, s *Series) []byte {
	b = appendArrayLen(b, 3)
	b = appendUint(b, uint64(s.Family))
	b = appendArrayLen(b, len(s.Labels))
	for _, l := range s.Labels {
		b = appendString(b, l)
	}
	if v := s.Value; v == math.Trunc(v) && math.Abs(v) < exactInt {
		return appendInt(b, int64(v))
	}
	b = append(b, 0xcb)
	return binary.BigEndian.AppendUint64(b, math.Float64bits(s.Value))
}

// The msgpack writers below emit the shortest form of each value, so that
// equal parts have equal bytes (the golden vectors pin them).

func appendArrayLen(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
}

func appendUint(b []byte, u uint64) []byte {
	switch {
	case u < 0x80:
		return append(b, byte(u))
	case u <= math.MaxUint8:
		return append(b, 0xcc, byte(u))
	case u <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(u))
	case u <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(u))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), u)
}

func appendInt(b []byte, i int64) []byte {
	switch {
	case i >= 0:
		return appendUint(b, uint64(i))
	case i >= -32:
		return append(b, byte(i))
	case i >= math.MinInt8:
		return append(b, 0xd0, byte(i))
	case i >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(i))
	case i >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(i))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(i))
}

func appendString(b []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		b = append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
	}
	return append(b, s...)
}
