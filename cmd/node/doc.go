// Command walkie runs one node of the walkie peer-to-peer overlay. It is
// built as bin/walkie by `make build` (not "node", which would shadow Node.js
// on PATH). It only wires things together: flags become a core.Config, logs
// go to a slog text handler on stderr, and an HTTP server shows the node's
// status.
//
// Usage:
//
//	walkie [flags]
//
// Flags (names and defaults are a contract; README's flag table lists them):
//
//	-listen ADDR        UDP address, ip:port (port 0: any free port).
//	                    Default 0.0.0.0:1873. Host names are not accepted.
//	-bootstrap LIST     comma-separated host:port of nodes to introduce
//	                    ourselves to. IP literals never touch DNS; host names
//	                    are resolved in the background (IPv4 preferred) and
//	                    retried with backoff 1 s .. 30 s until they resolve.
//	                    Default none: LAN discovery still runs.
//	-data DIR           state directory: the Ed25519 identity key in
//	                    DIR/identity.key (0600), the peer ID derived from
//	                    it in DIR/peer-id, the chat history, the game's
//	                    score table in DIR/game/scores.json, the HTTP token
//	                    (-http) in DIR/http-token; written atomically.
//	                    Default $HOME/.walkie, else walkie-data beside the
//	                    binary (phones have no HOME), whichever is
//	                    writable; if neither, walkie asks for -data.
//	-http ADDR          HTTP server: / (the page: chat, game and status),
//	                    /status (JSON), /metrics (Prometheus,
//	                    docs/metrics.md; and on a -collector /metrics/fleet),
//	                    /history (the page's chart) and /api/NAME (the
//	                    communities); "" disables it. Default 127.0.0.1:1874. It answers
//	                    only a Host that names the node (loopback, the
//	                    address a request arrived at, the -http host,
//	                    -http-host; else 421) and takes a POST only from its
//	                    own origin or from a program that sends no Origin
//	                    (else 403). Beyond loopback (0.0.0.0, ::, a LAN
//	                    address) it logs a warning and everything but the
//	                    page (/, /page/) and /login needs the token in
//	                    DATA/http-token, made on the first such start (32
//	                    hex digits, mode 0600, written atomically): as
//	                    "Authorization: Bearer TOKEN", or the cookie that
//	                    POST /login {"token": "TOKEN"} sets, which the page
//	                    asks for once (else 401). At most 32 event streams
//	                    at once (else 503), each write within 10 s
//	                    (httpjson.MaxStreams, StreamWriteTimeout).
//	-http-host NAME     a host name (or IP address) that the HTTP server
//	                    also answers to, on any port: the name a Prometheus
//	                    or a proxy reaches it by. Repeatable, or
//	                    comma-separated; no port. Default none.
//	-communities LIST   comma-separated community names ([a-z0-9-]{1,32}) to
//	                    run; each is announced, so /status shows its
//	                    members. Built in (see builtins in communities.go):
//	                    "chat", the group chat (plugins/chat, history in
//	                    DATA/chat, API under /api/chat: see chat.Chat.API),
//	                    and "game", rock-paper-scissors (plugins/game, scores
//	                    in DATA/game/scores.json, API under /api/game: see
//	                    game.Community.API). A name that
//	                    is neither built in nor served by a -plugin is a
//	                    mistake (exit 2). Default chat,game; "" for none.
//	-announce LIST      comma-separated community names to announce in
//	                    introductions without running any code for them, so
//	                    that peers that run them count this node as a
//	                    member; messages to them are dropped. A name may not
//	                    be in -communities too, nor served by a -plugin.
//	                    Default none.
//	-plugin PATH        out-of-process community plugin (a binary built with
//	                    plugins/sdk.Serve, or one in any language that follows
//	                    docs/writing-a-plugin.md), repeatable; it replaces the
//	                    -communities entry of the same name, and its HTTP
//	                    API, if it has one, is served at /api/NAME
//	                    (plugins/host: 413, 502, 504 as JSON). A binary that
//	                    fails the handshake stops walkie at start (exit 1);
//	                    one that crashes or hangs later is restarted with
//	                    backoff (plugins/host) while the node runs on.
//	-log-level LEVEL    debug, info, warn or error. Default info.
//	-lan-discovery BOOL find nodes on the LAN by multicast beacons on
//	                    239.255.18.73:1873. Default true. If the group cannot
//	                    be joined, walkie logs a warning, still sends
//	                    beacons, and carries on.
//	-port-prediction BOOL
//	                    take part in port prediction with symmetric NATs
//	                    (docs/nat-traversal.md): probe sockets and sprays of
//	                    a few hundred packets, only while this node or its
//	                    partner is short of peers. Default true.
//	-seed BOOL          also speak the seed protocol, the 2016 Android app's
//	                    bencoded datagrams, on the -listen socket (IPv4), so
//	                    that its nodes and walkie nodes walk one network:
//	                    /status lists them under seed_peers, never as peers
//	                    (docs/protocol.md, "The seed protocol"). Default true.
//	-dns ADDR           DNS server ip:port for -bootstrap host names. Default:
//	                    the system's resolver; with no /etc/resolv.conf (as
//	                    on Android, where a binary without cgo cannot ask the
//	                    phone's resolver) 8.8.8.8:53.
//	-profile NAME       default, or mobile: once 8 peers are known, walk once
//	                    a minute, keep at most 16 peers, say so in every
//	                    request so that peers walk elsewhere, answer one
//	                    keep-alive in two, leave rekeying to the peer
//	                    (core.MobileConfig, Config.Quiet), and sync the chat
//	                    every 10 s, backing off to 2 min while it is idle.
//	                    docs/android.md has what it costs. Default default.
//	-nat64 VALUE        on an IPv6-only network, reach IPv4 peers through
//	                    the NAT64: auto finds its prefix through DNS64 (the
//	                    addresses of ipv4only.arpa, RFC 7050) on every
//	                    network the node moves to; a prefix such as
//	                    64:ff9b::/96 sets it; off. /status shows it as
//	                    nat64. Default auto.
//	-chat-max-messages N
//	                    the chat keeps at most N messages, deleting the
//	                    oldest. Default 10000.
//	-chat-max-bytes N   the chat keeps at most N bytes of encoded messages,
//	                    deleting the oldest. Default 4194304 (4 MiB); at the
//	                    defaults chat.db stays at or under 16 MiB.
//	-chat-max-age D     the chat deletes messages stored longer than D ago,
//	                    a Go duration. Default 720h (30 days).
//	-collector          collect the walkie_ series of the nodes that report
//	                    here (-report-to) and serve them at /metrics/fleet
//	                    under the -http rules, each series labelled with
//	                    its reporter's peer ID (plugins/fleet). Its peer
//	                    table holds 1,000 more peers, it keeps peers alive
//	                    at 40 s so that reporters ping it, and it takes any
//	                    number of peers from one network unless
//	                    -peers-per-network is given. Default off.
//	-collector-accept FILE
//	                    a collector takes reports only from the peer IDs in
//	                    FILE: one per line, blank lines and # comments
//	                    ignored, at most 100,000 IDs and 4 MiB. Default:
//	                    any authenticated reporter, up to 1,000.
//	-report-to ID@HOST:PORT
//	                    report this node's walkie_ series to the collector
//	                    whose peer ID is ID, reached at HOST:PORT (added to
//	                    the -bootstrap list; a name is resolved like one of
//	                    them): sealed, to that peer only, while it is an
//	                    authenticated member of "fleet"; every minute,
//	                    every 5 minutes with -profile mobile. The
//	                    environment variable WALKIE_FLEET_TEST_INTERVAL (a
//	                    duration, for tests only) shortens it. Default off.
//	-version            print the version and exit.
//
// The chat's API (plugins/chat, chat.Chat.API), under -http:
//
//	POST /api/chat         {"text": "..."}: the message, as JSON.
//	GET  /api/chat         {"messages": [...], "next": "CURSOR" or null}: the
//	                       newest page of the history, in order. ?limit=N
//	                       (default 100, at most 500) sets its size and
//	                       ?before=CURSOR (a "next") asks for the page before.
//	                       It used to answer the whole history: a client that
//	                       sends no parameters now gets the newest 100.
//	GET  /api/chat/stream  new messages as server-sent events (counted against
//	                       the cap on streams of -http).
//
// The game's API (plugins/game, game.Community.API), under -http:
//
//	POST /api/game/challenge {"peer": "..."}: {"game": "ID"}.
//	POST /api/game/move      {"game": "ID", "move": "rock"}: the game.
//	GET  /api/game/games     {"games": [...]}, the open and recent games.
//	GET  /api/game/scores    {"scores": [...]}, kept in DATA/game/scores.json.
//	GET  /api/game/stream    "challenge", "move" and "result" events
//	                         (server-sent; counted against the same cap).
//
// docs/openapi.json describes every route of -http, and walkie -h lists
// them (routes.go). Errors are JSON {"error": "..."} (plugins/httpjson),
// an unknown path's 404 and a wrong method's 405 included.
//
// The LAN address told to peers is the -listen IP if it is specific;
// otherwise the source address of the route to the internet (a UDP "dial",
// which sends nothing), else the first private or global IPv4 interface
// address, else 127.0.0.1. It never uses net.Interfaces, which Android 11 and
// later forbid.
//
// Exit codes: 0 after SIGINT or SIGTERM (the node shuts down cleanly and logs
// "stopped"), after -h and after -version; 1 if the node cannot start (an
// address in use, an unreadable or corrupt identity.key, peer-id,
// http-token or game/scores.json file) or its HTTP server fails; 2 for a mistake on the command
// line, reported as one line on stderr. Which
// communities the -plugin binaries serve is known only once they run, so a
// -communities name that none serves is reported after their "plugin
// loaded" lines, once they are stopped again.
package main
