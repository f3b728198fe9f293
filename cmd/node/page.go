package main

import (
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
)

// pageFiles is the page: chat, game and status, in HTML, CSS and JavaScript
// modules compiled into the binary, because a node often runs where there is no internet (a LAN, a
// phone) and a CDN would also tell a third party who looks at which node.
//
//go:embed page
var pageFiles embed.FS

// pageCSP allows only the binary's own files: the page shows peer IDs and
// community names that came off the network, and the script writes them as
// text, so even a slip there cannot load or run anything foreign.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// addPage registers GET / (index.html) and GET /page/NAME (its assets) on mux.
func addPage(mux *http.ServeMux) {
	files, err := fs.Sub(pageFiles, "page")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	serve := func(name string) http.HandlerFunc {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			panic(err)
		}
		ctype := mime.TypeByExtension(path.Ext(name))
		return func(w http.ResponseWriter, _ *http.Request) {
			h := w.Header()
			h.Set("Content-Type", ctype)
			h.Set("Content-Security-Policy", pageCSP)
			h.Set("X-Content-Type-Options", "nosniff")
			// A new binary may ship a new page; a revalidation costs
			// nothing on loopback.
			h.Set("Cache-Control", "no-cache")
			w.Write(b)
		}
	}
	mux.Handle("GET /{$}", serve("index.html"))
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		if e.Name() != "index.html" {
			mux.Handle("GET /page/"+e.Name(), serve(e.Name()))
		}
	}
}
