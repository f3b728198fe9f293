// Package metrics tests what an operator of a walkie node looks at, with the
// real programs an operator uses: three real walkie processes on 127.0.0.1 to
// 127.0.0.3, a real Prometheus server (Debian package prometheus) scraping
// their /metrics every second, promtool checking the exposition, and headless
// Chromium (Debian package chromium), driven by chromedp, loading the page
// at /. Chromium also plays a web page that attacks a node through DNS
// rebinding (rebind_test.go), logs in to a node whose HTTP server listens
// beyond loopback, and is the person who chats and plays from two nodes'
// pages (play_test.go: a message shows in the other page within 2 s, a
// game is challenged, played and scored, the layout holds at 360x740 and
// 1280x800).
// A collector and three nodes that report to it (fleet_test.go) are
// scraped as one fleet, by a Prometheus that scrapes the collector only.
//
// The tests are built only with -tags e2e (make e2e-metrics, and make e2e,
// which CI runs), so that `go test ./...` works on a machine without those
// packages. With the tag and without the packages they fail and say what to
// install; they never skip. The status page's screenshot is written to
// testout/status-page.png under the module root, for CI to keep; with
// WALKIE_SCREENSHOTS=1 the pages' test also writes docs/page-phone.png and
// docs/page-desktop.png, the screenshots README shows.
package metrics
