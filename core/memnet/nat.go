package memnet

import (
	"fmt"
	"net/netip"
	"time"
)

// DefaultNATTimeout is the idle mapping timeout used when
// [NATConfig.Timeout] is zero. RFC 4787 REQ-5 asks for at least 2 minutes,
// but mobile carriers' NATs commonly use about 30 seconds.
const DefaultNATTimeout = 30 * time.Second

// Mapping is the NAT mapping behaviour of RFC 4787 section 4.1: when an
// internal socket sends to several remote endpoints, which of them share
// the same public port.
type Mapping int

const (
	// EndpointIndependent reuses one public port for all remotes.
	EndpointIndependent Mapping = iota
	// AddressDependent uses one public port per remote IP.
	AddressDependent
	// AddressAndPortDependent uses one public port per remote IP and port
	// (a "symmetric" NAT).
	AddressAndPortDependent
)

// String returns the name of the Mapping constant.
func (m Mapping) String() string {
	switch m {
	case EndpointIndependent:
		return "EndpointIndependent"
	case AddressDependent:
		return "AddressDependent"
	case AddressAndPortDependent:
		return "AddressAndPortDependent"
	}
	return fmt.Sprintf("Mapping(%d)", int(m))
}

// Filtering is the NAT filtering behaviour of RFC 4787 section 5: which
// remote endpoints may send to a mapping's public port.
type Filtering int

const (
	// EndpointIndependentFiltering admits any remote.
	EndpointIndependentFiltering Filtering = iota
	// AddressDependentFiltering admits a remote whose IP the mapping has
	// sent to, from any port.
	AddressDependentFiltering
	// AddressAndPortDependentFiltering admits a remote whose IP and port
	// the mapping has sent to.
	AddressAndPortDependentFiltering
)

// String returns the name of the Filtering constant.
func (f Filtering) String() string {
	switch f {
	case EndpointIndependentFiltering:
		return "EndpointIndependentFiltering"
	case AddressDependentFiltering:
		return "AddressDependentFiltering"
	case AddressAndPortDependentFiltering:
		return "AddressAndPortDependentFiltering"
	}
	return fmt.Sprintf("Filtering(%d)", int(f))
}

// PortAlloc is how a NAT chooses the public port of a new mapping. Public
// ports are unique per NAT: each belongs to at most one live mapping.
type PortAlloc int

const (
	// PortPreserve uses the internal port if no live mapping holds it,
	// and the next free sequential port otherwise.
	PortPreserve PortAlloc = iota
	// PortSequential uses the next free port, counting up from 1024 and
	// wrapping at 65535.
	PortSequential
	// PortRandom uses a random free port in 1024-65535.
	PortRandom
)

// String returns the name of the PortAlloc constant.
func (p PortAlloc) String() string {
	switch p {
	case PortPreserve:
		return "PortPreserve"
	case PortSequential:
		return "PortSequential"
	case PortRandom:
		return "PortRandom"
	}
	return fmt.Sprintf("PortAlloc(%d)", int(p))
}

// NATConfig configures a NAT router. See the helpers [FullCone],
// [RestrictedCone], [PortRestrictedCone] and [Symmetric].
type NATConfig struct {
	// PublicIP is the NAT's address on the internet. Required.
	PublicIP netip.Addr
	// Mapping is the mapping behaviour. Default EndpointIndependent.
	Mapping Mapping
	// Filtering is the filtering behaviour. Default
	// EndpointIndependentFiltering.
	Filtering Filtering
	// PortAlloc is the public port allocation. Default PortPreserve.
	PortAlloc PortAlloc
	// Timeout is how long a mapping, and each remote's filtering
	// permission, lives after the last outbound datagram using it; inbound
	// datagrams do not refresh it. Zero means [DefaultNATTimeout] (30s);
	// a negative value means mappings never expire.
	Timeout time.Duration
	// Hairpin delivers datagrams sent from inside to the NAT's own public
	// IP back inside, translated and filtered as if they came from the
	// internet (RFC 4787 REQ-9). Default false: such datagrams are dropped.
	Hairpin bool
	// NAT64 makes the NAT a carrier's stateful NAT64 (RFC 6146) rather
	// than a router with hosts behind it: a datagram that a public IPv6
	// host sends to an address inside this /96 goes to the IPv4 address in
	// its last 32 bits, from PublicIP and a mapped port as through any
	// NAT; answers reach the IPv6 host from the prefix-embedded address of
	// their source. Such a NAT has no hosts of its own. Default none.
	NAT64 netip.Prefix
}

// embed64 is the address of IPv4 address v4 inside /96 prefix p.
func embed64(p netip.Prefix, v4 netip.Addr) netip.Addr {
	a, b := p.Addr().As16(), v4.As4()
	copy(a[12:], b[:])
	return netip.AddrFrom16(a)
}

// extract64 is the IPv4 address that a, inside /96 prefix p, embeds.
func extract64(p netip.Prefix, a netip.Addr) (netip.Addr, bool) {
	if !p.IsValid() || !p.Contains(a) {
		return netip.Addr{}, false
	}
	b := a.As16()
	return netip.AddrFrom4([4]byte(b[12:])), true
}

// FullCone returns the configuration of a full-cone NAT: endpoint-independent
// mapping and filtering, port preservation.
func FullCone(ip netip.Addr) NATConfig {
	return NATConfig{PublicIP: ip}
}

// RestrictedCone returns the configuration of a (address-)restricted-cone
// NAT: endpoint-independent mapping, address-dependent filtering, port
// preservation.
func RestrictedCone(ip netip.Addr) NATConfig {
	return NATConfig{PublicIP: ip, Filtering: AddressDependentFiltering}
}

// PortRestrictedCone returns the configuration of a port-restricted-cone
// NAT, the common home router: endpoint-independent mapping,
// address-and-port-dependent filtering, port preservation.
func PortRestrictedCone(ip netip.Addr) NATConfig {
	return NATConfig{PublicIP: ip, Filtering: AddressAndPortDependentFiltering}
}

// Symmetric returns the configuration of a symmetric NAT:
// address-and-port-dependent mapping and filtering, random ports.
func Symmetric(ip netip.Addr) NATConfig {
	return NATConfig{
		PublicIP:  ip,
		Mapping:   AddressAndPortDependent,
		Filtering: AddressAndPortDependentFiltering,
		PortAlloc: PortRandom,
	}
}

// A NAT is a router between the internet and a private realm of hosts.
// Create it with [Network.NAT].
type NAT struct {
	net   *Network
	cfg   NATConfig
	realm *realm
	table natTable // guarded by net.mu
}

func newNAT(n *Network, cfg NATConfig) *NAT {
	nat := &NAT{net: n, cfg: cfg}
	nat.realm = newRealm(nat)
	nat.table.init()
	return nat
}

// Host returns the host with private address ip behind the NAT, creating it
// if needed. It panics if ip is invalid or is the NAT's public IP.
func (nat *NAT) Host(ip netip.Addr) *Host {
	ip = ip.Unmap()
	n := nat.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if !ip.IsValid() || ip == nat.cfg.PublicIP {
		panic(fmt.Sprintf("memnet: NAT.Host: invalid private IP %v", ip))
	}
	return nat.realm.host(n, ip)
}

// PublicIP returns the NAT's address on the internet.
func (nat *NAT) PublicIP() netip.Addr { return nat.cfg.PublicIP }

// Config returns the NAT's configuration, with defaults filled in.
func (nat *NAT) Config() NATConfig { return nat.cfg }

// Mappings returns the number of live (unexpired) mappings, removing the
// expired ones.
func (nat *NAT) Mappings() int {
	n := nat.net
	n.mu.Lock()
	defer n.mu.Unlock()
	nat.sweep(nat.since(time.Now()))
	return len(nat.table.byPort)
}
