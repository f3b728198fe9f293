// Package natlab tests the real walkie binary through real Linux NATs: every
// host runs in its own network namespace, NAT routers are namespaces with
// nftables rules (port-restricted cone, symmetric, full cone), and an
// "internet" namespace holds the bridge that joins routers and public hosts.
// The recipe, and the trap that makes a naive Linux NAT behave symmetric, are
// in the package's lab_test.go and in docs/nat-traversal.md.
//
// The internet has IPv6 too (2001:db8::/32, a /64 per site, routed by the
// inet namespace): sites may be dual-stack (kind+6; behind a router, IPv6
// is routed through a stateful firewall, not translated) or IPv6-only
// (public6), and a nat64 site is an IPv6-only phone behind a carrier's
// NAT64: tayga with the prefix 2001:db8:64::/96, its pool masqueraded to the
// router's IPv4 address, and unbound as DNS64 (lab6_test.go,
// nat64_test.go). The phone scenarios of issue 15 (phone_test.go,
// bootgone_test.go, packets_test.go) give every router carrier-like 30 s
// UDP timeouts: a phone that moves to another router, members that return
// and newcomers that arrive after the bootstrap died, and every datagram a
// phone sends, counted outside it by nftables and timed by a packet socket
// for its radio's wake-ups.
//
// The tests need root, ip (iproute2), nft (nftables), for the lossy
// scenario iptables (its NFQUEUE target delays packets: the CI kernel has no
// netem), for TestArm64UnderQemu qemu-aarch64-static (qemu-user-static),
// which runs the static linux/arm64 node among amd64 ones, and for the
// NAT64 tayga and unbound (the packages of those names). They are built
// only with -tags natlab, so that `go test ./...` as an ordinary user does
// not try to create namespaces; with the tag and without root, or without
// a tool, they fail with a message that says why, never skip.
//
//	make natlab          # the scenarios and the pair matrix (make e2e runs it too)
//	make natlab-report   # measures the matrix and rewrites docs/nat-traversal.md
//	make natlab-phones   # counts a phone's datagrams (3 minutes) into docs/android.md
//
// Namespaces are named wkXXXX-role, XXXX random per run. They are removed,
// with the processes in them (nodes, tayga, unbound) and their
// /etc/netns/NAME files, when the test ends, when it is interrupted (SIGINT,
// SIGTERM) and before go test's -timeout panic; a later run removes those
// of runs whose process is gone.
package natlab
