package core

import (
	"crypto/ed25519"
	"net/netip"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/proto"
)

// Port prediction aims many datagrams at one IP, so it aims only at an
// address whose owner vouched for it with a ticket (proto.Ticket), and
// never more than probeBudget a target IP an hour, whoever asks.
const (
	// ticketLife is how long a ticket we sign stays valid; we sign a new
	// one when less than half of it is left. A ticket that claims to live
	// longer is refused.
	ticketLife = 2 * time.Minute
	// probeBudget is what one node sends to one IP in port prediction
	// probes an hour, counting each probe as probeCost bytes: two of the
	// easy side's attempts (512 probes each), or four of the symmetric
	// side's (256 sockets each).
	probeBudget = 128 << 10
	probeCost   = 128
	// maxBudgets bounds the IPs whose spending is remembered.
	maxBudgets = 4096
)

// spend is what was sent to one IP since a time.
type spend struct {
	bytes int
	since time.Time
}

// ticket returns our ticket for the address the votes give (for a
// symmetric NAT, kind random or sequential, only its IP), signing a new one
// when the cached one is half spent or names another address; the zero
// ticket without a key or an address.
func (pr *prober) ticket(kind proto.NATKind, ip netip.Addr, wan netip.AddrPort, now time.Time) proto.Ticket {
	addr := wan
	if kind == proto.NATRandom || kind == proto.NATSequential {
		addr = netip.AddrPortFrom(ip, 0)
	}
	if pr.cfg.Key == nil || !addr.Addr().IsValid() {
		return proto.Ticket{}
	}
	t := &pr.mine
	if t.Addr == addr && time.Unix(int64(t.Expiry), 0).Sub(now) > ticketLife/2 {
		return *t
	}
	*t = proto.Ticket{Key: [32]byte(pr.cfg.Key.Public().(ed25519.PublicKey)), Expiry: uint64(now.Add(ticketLife).Unix()), Addr: addr}
	t.Sig = [64]byte(ed25519.Sign(pr.cfg.Key, t.SignedBytes(nil)))
	return *t
}

// vouched reports whether tk is peer id's own, valid ticket for aim: its
// key is id's, its signature holds, it has not expired and does not claim
// to live longer than a ticket does, and it names aim (only aim's IP for
// a symmetric peer, whose ticket has port 0).
func vouched(tk *proto.Ticket, id proto.ID, aim netip.AddrPort, hard bool, now time.Time) bool {
	if tk.IsZero() || community.IDFromKey(tk.Key[:]) != id {
		return false
	}
	exp := time.Unix(int64(min(tk.Expiry, 1<<62)), 0)
	if !now.Before(exp) || exp.Sub(now) > ticketLife {
		return false
	}
	if hard {
		if tk.Addr.Addr() != aim.Addr() || tk.Addr.Port() != 0 {
			return false
		}
	} else if tk.Addr != aim {
		return false
	}
	return ed25519.Verify(tk.Key[:], tk.SignedBytes(nil), tk.Sig[:])
}

// afford spends one probe of the budget of ip, and reports whether there
// was one left.
func (pr *prober) afford(ip netip.Addr, now time.Time) bool {
	s, ok := pr.spent[ip]
	if !ok || now.Sub(s.since) >= time.Hour {
		if !ok && len(pr.spent) >= maxBudgets {
			clear(pr.spent)
		}
		s = spend{since: now}
	}
	if s.bytes+probeCost > probeBudget {
		pr.spent[ip] = s
		return false
	}
	s.bytes += probeCost
	pr.spent[ip] = s
	return true
}
