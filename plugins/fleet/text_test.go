package fleet

import (
	"compress/gzip"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// parseText parses an exposition as Prometheus does, failing the test on
// any error (a duplicate family, a bad escape, a sample outside its
// family).
func parseText(t *testing.T, r io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("the fleet text does not parse: %v", err)
	}
	return fams
}

// label returns the value of label name of m.
func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// Label values that need escaping, NaN, every family of the table and
// two reporters parse back to what was reported, with the right types.
func TestFleetTextParses(t *testing.T) {
	c := newTestCollector(t, Config{})
	odd := `a "quoted" \ back` + "\nslash"
	a, b := authed(), authed()
	var all []Series
	for i, fam := range c.fams {
		labels := make([]string, len(fam.Labels))
		for j := range labels {
			labels[j] = "v" + fam.Labels[j]
		}
		all = append(all, Series{Family: i, Labels: labels, Value: float64(i)})
	}
	all[16].Labels[1] = odd // the address
	all[17].Value = math.NaN()
	send(t, c, a, 1, MaxInterval, all, t0)
	send(t, c, b, 1, MaxInterval, sample(2), t0)

	fams := parseText(t, strings.NewReader(text(c, t0)))
	if len(fams) != len(c.fams) {
		t.Errorf("%d families, want %d", len(fams), len(c.fams))
	}
	for i, fam := range c.fams {
		mf := fams[fam.Name]
		if mf == nil {
			t.Errorf("%s missing", fam.Name)
			continue
		}
		if want := map[Kind]dto.MetricType{Counter: dto.MetricType_COUNTER, Gauge: dto.MetricType_GAUGE}[fam.Kind]; mf.GetType() != want {
			t.Errorf("%s: type %v, want %v", fam.Name, mf.GetType(), want)
		}
		for _, m := range mf.GetMetric() {
			if label(m, "peer") != a.ID.String() {
				continue
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			if i == 17 && !math.IsNaN(v) || i != 17 && v != float64(i) {
				t.Errorf("%s of a: %v, want %d", fam.Name, v, i)
			}
		}
	}
	if got := label(fams["walkie_wan_address_info"].GetMetric()[0], "address"); got != odd && label(fams["walkie_wan_address_info"].GetMetric()[1], "address") != odd {
		t.Errorf("escaped label value did not come back: %q", got)
	}
	if n := len(fams["walkie_peers"].GetMetric()); n != 2 {
		t.Errorf("%d walkie_peers series, want 2 (one per reporter)", n)
	}
}

// The handler answers in the text format, gzipped when asked, and HEAD
// with headers only.
func TestFleetHandler(t *testing.T) {
	f, err := New(Config{Collect: true})
	if err != nil {
		t.Fatal(err)
	}
	a := authed()
	send(t, f.coll, a, 1, MaxInterval, sample(4), time.Now()) // the handler reads the clock too
	srv := httptest.NewServer(f.Handler())
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Content-Type") != textContentType {
		t.Fatalf("headers %v", resp.Header)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	fams := parseText(t, zr)
	if m := fams["walkie_peers"].GetMetric(); len(m) != 1 || label(m[0], "peer") != a.ID.String() {
		t.Errorf("walkie_peers: %v", m)
	}

	resp, err = http.Head(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(body) != 0 {
		t.Errorf("HEAD: %s, %d bytes", resp.Status, len(body))
	}
	if r, _ := New(Config{}); r.Handler() != nil {
		t.Error("a node that does not collect has a handler")
	}
}
