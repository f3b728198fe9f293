// Package natlab tests the real walkie binary through real Linux NATs: every
// host runs in its own network namespace, NAT routers are namespaces with
// nftables rules (port-restricted cone, symmetric, full cone), and an
// "internet" namespace holds the bridge that joins routers and public hosts.
// The recipe, and the trap that makes a naive Linux NAT behave symmetric, are
// in the package's lab_test.go and in docs/nat-traversal.md.
//
// The tests need root, ip (iproute2), nft (nftables), for the lossy
// scenario iptables (its NFQUEUE target delays packets: the CI kernel has no
// netem), and for TestArm64UnderQemu qemu-aarch64-static (qemu-user-static),
// which runs the static linux/arm64 node among amd64 ones. They are built
// only with -tags natlab, so that `go test ./...` as an ordinary user does
// not try to create namespaces; with the tag and without root, or without
// a tool, they fail with a message that says why, never skip.
//
//	make natlab          # the scenarios and the pair matrix (make e2e runs it too)
//	make natlab-report   # measures the matrix and rewrites docs/nat-traversal.md
//
// Namespaces are named wkXXXX-role, XXXX random per run. They are removed
// when the test ends, when it is interrupted (SIGINT, SIGTERM) and before
// go test's -timeout panic; a later run removes those of runs whose process
// is gone.
package natlab
