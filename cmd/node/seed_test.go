package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/proto"
	"github.com/walkie-p2p/walkie/proto/seed"
)

// seedRequest is a seed node's intro request to to, as the app encodes it.
func seedRequest(t *testing.T, id string, to netip.AddrPort) []byte {
	pid, err := seed.ParsePeerID(id)
	if err != nil {
		t.Fatal(err)
	}
	b, err := seed.Append(nil, &seed.IntroRequest{Sender: pid, Destination: to, Connection: seed.ConnectionWiFi})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The binary speaks the seed protocol by default: a seed node that walks
// to it is asked back (its first request is smaller than our answer), in
// bytes the seed's decoder takes, under the first 8 hex digits of the
// node's peer ID; once it answers, /status lists it under seed_peers and
// never under peers.
func TestRunSpeaksSeed(t *testing.T) {
	start := startRun(t, quietArgs(t.TempDir())...)
	node := netip.MustParseAddrPort(logField(start, "lan"))
	u, err := uuid.Parse(logField(start, "peer_id"))
	if err != nil {
		t.Fatal(err)
	}
	id := proto.ID(u)
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	me := c.LocalAddr().(*net.UDPAddr).AddrPort()
	for range 2 { // the second buys the credit our request needs
		if _, err := c.WriteToUDPAddrPort(seedRequest(t, "5eed0042", node), node); err != nil {
			t.Fatal(err)
		}
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, seed.MaxDatagram)
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	if err := seed.Check(buf[:n]); err != nil {
		t.Fatalf("the seed's decoder refuses % x: %v", buf[:n], err)
	}
	m, err := seed.Decode(buf[:n])
	req, ok := m.(*seed.IntroRequest)
	if err != nil || !ok || req.Sender != seed.PeerIDOf(id) || req.Destination != me || from != node {
		t.Fatalf("got %T %+v (%v) from %v; want an intro request from %v as %s to %v", m, m, err, from, node, seed.PeerIDOf(id), me)
	}
	answer, err := seed.Append(nil, &seed.IntroResponse{Sender: mustSeedID(t, "5eed0042"), Destination: node,
		Connection: seed.ConnectionWiFi, InternalSource: me})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteToUDPAddrPort(answer, node); err != nil {
		t.Fatal(err)
	}
	url := "http://" + logField(start, "http") + "/status"
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		st := getStatus(t, url)
		if len(st.SeedPeers) == 1 {
			if p := st.SeedPeers[0]; p.ID != "5eed0042" || p.Addr != me.String() || len(st.Peers) != 0 {
				t.Errorf("seed_peers %+v, peers %+v; want 5eed0042 at %v, no peers", st.SeedPeers, st.Peers, me)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("seed_peers still %+v", st.SeedPeers)
		}
	}
}

// With -seed=false a seed datagram gets nothing back.
func TestRunSeedOff(t *testing.T) {
	start := startRun(t, quietArgs(t.TempDir(), "-seed=false")...)
	node := netip.MustParseAddrPort(logField(start, "lan"))
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 3 {
		if _, err := c.WriteToUDPAddrPort(seedRequest(t, "5eed0043", node), node); err != nil {
			t.Fatal(err)
		}
	}
	// An absence: give it a second, far more than a loopback round trip.
	c.SetReadDeadline(time.Now().Add(time.Second))
	if n, _, err := c.ReadFromUDPAddrPort(make([]byte, 2048)); err == nil {
		t.Fatalf("answered with %d bytes", n)
	}
	if st := getStatus(t, "http://"+logField(start, "http")+"/status"); len(st.SeedPeers) != 0 {
		t.Errorf("seed_peers %+v", st.SeedPeers)
	}
}

func getStatus(t *testing.T, url string) core.Status {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st core.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func mustSeedID(t *testing.T, s string) seed.PeerID {
	id, err := seed.ParsePeerID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
