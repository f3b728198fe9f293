package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/plugins/chat"
	"github.com/walkie-p2p/walkie/plugins/fleet"
	"github.com/walkie-p2p/walkie/plugins/game"
)

// routeSet renders routes as sorted "METHOD PATH" lines, for comparisons
// that name every difference.
func routeSet(rs []route) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.method+" "+r.path)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// diff reports what a has that b lacks, and the reverse.
func diff(t *testing.T, aName string, a []string, bName string, b []string) {
	t.Helper()
	for _, x := range a {
		if !slices.Contains(b, x) {
			t.Errorf("%s in %s, not in %s", x, aName, bName)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			t.Errorf("%s in %s, not in %s", x, bName, aName)
		}
	}
}

// TestOpenAPI keeps docs/openapi.json, the table of routes (apiRoutes) and
// the code equal, each way: the routes the file describes are the table's;
// the node registers its own routes from the table; the built-in
// communities' APIs register the table's /api/ routes (read from their
// source, since a ServeMux cannot list its patterns); and the node serves
// every route of the table.
func TestOpenAPI(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("docs/openapi.json: %v", err)
	}
	var described []route
	for path, ops := range doc.Paths {
		for method := range ops {
			described = append(described, route{strings.ToUpper(method), path})
		}
	}
	table := routeSet(apiRoutes())
	diff(t, "docs/openapi.json", routeSet(described), "apiRoutes", table)

	var own, tableOwn []route
	for _, s := range ownRoutes(nil, nil, nil, nil, nil) {
		own = append(own, s.route)
	}
	for _, r := range apiRoutes() {
		if !strings.HasPrefix(r.path, "/api/") {
			tableOwn = append(tableOwn, r)
		}
	}
	diff(t, "ownRoutes", routeSet(own), "apiRoutes", routeSet(tableOwn))

	// HandleFunc("GET "+root+"/stream", ...) and the like.
	pattern := regexp.MustCompile(`HandleFunc\("([A-Z]+) "\+root(?:\+"([^"]*)")?,`)
	for name, file := range map[string]string{chat.DefaultName: "../../plugins/chat/api.go", "game": "../../plugins/game/api.go"} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var code, listed []route
		for _, m := range pattern.FindAllStringSubmatch(string(src), -1) {
			code = append(code, route{m[1], "/api/" + name + m[2]})
		}
		for _, r := range apiRoutes() {
			if r.path == "/api/"+name || strings.HasPrefix(r.path, "/api/"+name+"/") {
				listed = append(listed, r)
			}
		}
		diff(t, file, routeSet(code), "apiRoutes", routeSet(listed))
	}

	// Served: no route of the table gets the catch-all's 404 or 405.
	c, err := chat.New(chat.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	coll, err := fleet.New(fleet.Config{Collect: true})
	if err != nil {
		t.Fatal(err)
	}
	comms := []community.Community{c, game.New(game.Config{}), coll}
	acc := &access{token: "secret", cookie: "walkie_token_1874"}
	srv := httptest.NewServer(newHandler(func() core.Status { return core.Status{} }, newMonitor(comms), comms, acc, nil))
	defer srv.Close()
	for _, r := range apiRoutes() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var body io.Reader
		if r.method == "POST" {
			body = strings.NewReader("{}")
		}
		req, _ := http.NewRequestWithContext(ctx, r.method, srv.URL+r.path, body)
		req.Header.Set("Authorization", "Bearer secret")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", r.method, r.path, err)
		}
		resp.Body.Close() // a stream ends here
		cancel()
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %s, but the table lists it", r.method, r.path, resp.Status)
		}
	}
	if t.Failed() {
		t.Log("apiRoutes: ", strings.Join(table, ", "))
	}
}
