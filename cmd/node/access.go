package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/walkie-p2p/walkie/plugins/httpjson"
)

// access holds the rules of the node's HTTP server (docs/security.md, "The
// local API"). A web page the user visits can make the browser send
// requests to the node: through a name of its own that resolves to the
// node (DNS rebinding), or from its own origin. And beyond loopback,
// every device that reaches the address can. So the server answers only
// requests whose Host names the node, takes changes only from its own
// origin, and beyond loopback asks for a token.
type access struct {
	hosts  []string // Host names besides loopback's: -http's host and every -http-host, lower case; IPs in netip's form
	token  string   // needed beyond loopback; "" on loopback
	cookie string   // name of the cookie that /login sets: walkie_token_PORT
}

// loginCookiePrefix starts the name of the login cookie; the server's port
// ends it, because a browser sends a host's cookies to all its ports and
// two nodes on one host must not overwrite each other's.
const loginCookiePrefix = "walkie_token_"

// loginMaxRequest bounds the body of POST /login, in bytes.
const loginMaxRequest = 1 << 10

// newAccess returns the rules for the server of opts bound to bound: the
// Host names it answers to and, beyond loopback, the token, from the data
// directory (created there on first use), with a warning in the log.
func newAccess(opts *options, bound net.Addr, log *slog.Logger) (*access, error) {
	a := &access{hosts: opts.httpHosts}
	if host, _, err := net.SplitHostPort(opts.httpAddr); err == nil && host != "" {
		a.hosts = append(slices.Clip(a.hosts), canonicalHost(host))
	}
	tcp, _ := bound.(*net.TCPAddr)
	if tcp == nil || tcp.IP.IsLoopback() {
		return a, nil
	}
	token, file, err := loadOrCreateToken(opts.dataDir, log)
	if err != nil {
		return nil, err
	}
	a.token, a.cookie = token, loginCookiePrefix+strconv.Itoa(tcp.Port)
	log.Warn("the HTTP server listens beyond loopback: any device that reaches it may try to read this node and post as its user, "+
		"so /status, /metrics, /history and /api/ need the token in token_file (Authorization: Bearer TOKEN, or log in on the page at /)",
		"http", bound.String(), "token_file", file)
	return a, nil
}

// wrap returns next behind the rules: a Host that is not the node's gets
// 421, a change from a foreign origin 403, a request without the token
// (when one is needed) 401, all as JSON. Requests that pass carry streams,
// the cap that every community's event streams share.
func (a *access) wrap(next http.Handler, streams *httpjson.Streams) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.hostAllowed(r) {
			host := hostOf(r.Host)
			if host == "" {
				host = "NAME"
			}
			httpjson.Error(w, http.StatusMisdirectedRequest, fmt.Sprintf(
				"Host %q is not a name of this node; if it is one, start walkie with -http-host %s", r.Host, host))
			return
		}
		if msg := crossOrigin(r); msg != "" {
			httpjson.Error(w, http.StatusForbidden, msg)
			return
		}
		if a.token != "" && !publicPath(r.URL.Path) && !a.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="walkie"`)
			httpjson.Error(w, http.StatusUnauthorized, "this node's HTTP server listens beyond loopback: send Authorization: Bearer TOKEN, "+
				"TOKEN being the file http-token in the node's data directory, or log in on the page at /")
			return
		}
		next.ServeHTTP(w, r.WithContext(httpjson.WithStreams(r.Context(), streams)))
	})
}

// hostAllowed reports whether r's Host header names this node, on any
// port: loopback (localhost, 127.0.0.0/8, ::1), the address the request
// arrived at (one of the machine's own), or a name of a.hosts. A page
// that reaches the node through a name of its own (DNS rebinding) sends
// that name.
func (a *access) hostAllowed(r *http.Request) bool {
	host := canonicalHost(hostOf(r.Host))
	switch {
	case host == "":
		return false
	case host == "localhost", slices.Contains(a.hosts, host):
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	local, _ := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr)
	return local != nil && local.AddrPort().Addr().Unmap().WithZone("") == ip
}

// hostOf returns the host part of a Host header: without the port, and an
// IPv6 address without its brackets.
func hostOf(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
}

// canonicalHost returns a host name in lower case without a trailing dot,
// and an IP address in netip's form, so that the rules compare like with
// like.
func canonicalHost(h string) string {
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if ip, err := netip.ParseAddr(h); err == nil {
		return ip.Unmap().WithZone("").String()
	}
	return h
}

// crossOrigin returns why r is a change from a foreign origin, or "". Only
// methods other than GET and HEAD change anything. A browser says where a
// request comes from (Origin, and Sec-Fetch-Site in newer ones); a program
// that says nothing is not a browser, and the Host and token rules apply
// to it alone.
func crossOrigin(r *http.Request) string {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return ""
	}
	origin := r.Header.Get("Origin")
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return fmt.Sprintf("a %s request from %q: this node takes changes only from its own page or from programs", site, origin)
	}
	if origin == "" {
		return ""
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !strings.EqualFold(u.Host, r.Host) {
		return fmt.Sprintf("Origin %q is not this node's (http://%s): it takes changes only from its own page or from programs", origin, r.Host)
	}
	return ""
}

// publicPath reports whether p is served without the token: the page, its
// files and /login, which only the token opens. Everything else needs it,
// a path added later included.
func publicPath(p string) bool {
	return p == "/" || p == "/login" || strings.HasPrefix(p, "/page/") && path.Clean(p) == p
}

// authorized reports whether r carries the token, as a bearer token or in
// the login cookie.
func (a *access) authorized(r *http.Request) bool {
	if scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") && a.validToken(strings.TrimSpace(token)) {
		return true
	}
	c, err := r.Cookie(a.cookie)
	return err == nil && a.validToken(c.Value)
}

// validToken compares in constant time: the time an answer takes must not
// tell how much of a guess was right. Hashing first makes the length of a
// guess no different.
func (a *access) validToken(got string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(a.token))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// login is POST /login {"token": "..."}: with the right token it sets the
// login cookie, which the page's requests then carry (a browser's
// EventSource cannot send an Authorization header). HttpOnly keeps it from
// scripts; SameSite=Strict keeps it off requests that other sites start.
// It lasts until the browser ends its session.
func (a *access) login(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Token string `json:"token"`
	}
	if !httpjson.ReadStrict(w, r, loginMaxRequest, &req) {
		return
	}
	if !a.validToken(strings.TrimSpace(req.Token)) {
		httpjson.Error(w, http.StatusUnauthorized, "wrong token: it is the file http-token in the node's data directory")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: a.cookie, Value: a.token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	httpjson.Write(w, http.StatusOK, map[string]bool{"ok": true})
}

// httpFlagUsage is the -h text of -http: its rules and their numbers.
func httpFlagUsage() string {
	return "`address` of the HTTP server (/ the page: chat, game, status; /status, /metrics, /api/); \"\" disables it. " +
		"Beyond loopback all but the page need the token in dir/" + httpTokenFile + " (made on first use). " +
		"At most " + strconv.Itoa(httpjson.MaxStreams) + " event streams at once, each write within " + httpjson.StreamWriteTimeout.String()
}

// parseHTTPHosts checks -http-host values (each may be a comma-separated
// list): host names or IP addresses, without a port (every port is
// allowed). It returns them in canonicalHost's form.
func parseHTTPHosts(values []string) ([]string, error) {
	var hosts []string
	for _, v := range values {
		for h := range strings.SplitSeq(v, ",") {
			h = strings.TrimSpace(h)
			bare := strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
			if ip, err := netip.ParseAddr(bare); err == nil && ip.Zone() == "" {
				hosts = append(hosts, canonicalHost(bare))
				continue
			}
			if _, port, err := net.SplitHostPort(h); err == nil && port != "" && strings.Trim(port, "0123456789") == "" {
				return nil, badFlag("http-host", v, "%q has a port; leave it out: a name is allowed on every port", h)
			}
			if !validHostName(h) {
				return nil, badFlag("http-host", v, "%q is not a host name or IP address (for example prometheus.lan or 192.0.2.7)", h)
			}
			hosts = append(hosts, canonicalHost(h))
		}
	}
	return hosts, nil
}

// validHostName reports whether s is a DNS name: dot-separated labels of
// letters, digits, '-' and '_', at most 253 bytes, a trailing dot allowed.
func validHostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
