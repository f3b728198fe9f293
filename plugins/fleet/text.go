package fleet

import (
	"bufio"
	"compress/gzip"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// textContentType is the Prometheus text exposition format, as promhttp
// names it.
const textContentType = "text/plain; version=0.0.4; charset=utf-8"

// serveFleet answers GET /metrics/fleet: every reporter's series with its
// peer label, in the Prometheus text format, gzipped when the scraper
// accepts it (a fleet of 1,000 is megabytes of text). The view is copied
// under the lock and written without it, so a slow scraper never holds
// up reports.
func (f *Fleet) serveFleet(w http.ResponseWriter, r *http.Request) {
	views, _ := f.coll.snapshot(time.Now())
	w.Header().Set("Content-Type", textContentType)
	if r.Method == http.MethodHead {
		return
	}
	var out io.Writer = w
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		gz := gzip.NewWriter(w)
		defer gz.Close()
		out = gz
	}
	bw := bufio.NewWriterSize(out, 32<<10)
	writeText(bw, f.coll.fams, views)
	bw.Flush()
}

// writeText writes the views family by family (the format wants a
// family's samples together), each family's reporters in peer ID order.
// No timestamps: a series that leaves the view leaves the scrape, and
// Prometheus marks it stale at once.
func writeText(w *bufio.Writer, fams []Family, views []view) {
	for fi, fam := range fams {
		header := false
		for _, v := range views {
			// v.series is sorted by family: find this one's run.
			lo := sort.Search(len(v.series), func(i int) bool { return v.series[i].Family >= fi })
			for _, s := range v.series[lo:] {
				if s.Family != fi {
					break
				}
				if !header {
					w.WriteString("# HELP " + fam.Name + " " + fam.Help + "\n# TYPE " + fam.Name + " " + fam.Kind.String() + "\n")
					header = true
				}
				writeSample(w, &fam, v.label, &s)
			}
		}
	}
}

// writeSample writes one line: name{peer="...",labels...} value.
func writeSample(w *bufio.Writer, fam *Family, peer string, s *Series) {
	w.WriteString(fam.Name)
	w.WriteString(`{peer="`)
	w.WriteString(peer) // a UUID: nothing to escape
	w.WriteByte('"')
	for i, l := range s.Labels {
		w.WriteByte(',')
		w.WriteString(fam.Labels[i])
		w.WriteString(`="`)
		writeEscaped(w, l)
		w.WriteByte('"')
	}
	w.WriteString("} ")
	var num [32]byte
	switch v := s.Value; {
	case math.IsNaN(v):
		w.WriteString("NaN")
	case math.IsInf(v, 1):
		w.WriteString("+Inf")
	case math.IsInf(v, -1):
		w.WriteString("-Inf")
	default:
		w.Write(strconv.AppendFloat(num[:0], v, 'g', -1, 64))
	}
	w.WriteByte('\n')
}

// writeEscaped writes a label value as the text format wants it: a
// backslash, a double quote and a newline escaped.
func writeEscaped(w *bufio.Writer, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			w.WriteString(`\\`)
		case '"':
			w.WriteString(`\"`)
		case '\n':
			w.WriteString(`\n`)
		default:
			w.WriteByte(c)
		}
	}
}
