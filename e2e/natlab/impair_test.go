//go:build natlab

package natlab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// impair adds imp to the egress of router ns's WAN interface, as
// `tc qdisc add dev wan root netem delay D loss L%` would. The kernels of
// these machines are built without sch_netem, so loss is an nftables rule
// (numgen) and delay is a netfilter queue that this process drains after
// imp.delay, one verdict per packet.
func impair(t *testing.T, ns string, imp options) error {
	if imp.lossPct > 0 {
		rules := fmt.Sprintf("table ip impair {\n\tchain out {\n\t\ttype filter hook postrouting priority -300;\n"+
			"\t\toifname \"wan\" numgen random mod 100 < %d drop\n\t}\n}\n", imp.lossPct)
		if err := inNS(ns, rules, "nft", "-f", "-"); err != nil {
			return err
		}
	}
	if imp.delay <= 0 {
		return nil
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return errors.New("delay needs iptables (its NFQUEUE target; apt-get install -y iptables)")
	}
	q, err := newDelayQueue(ns, 0, imp.delay)
	if err != nil {
		return err
	}
	t.Cleanup(q.close)
	// --queue-bypass: should the queue ever go away, packets pass undelayed
	// instead of vanishing.
	return inNS(ns, "", "iptables", "-t", "mangle", "-A", "POSTROUTING", "-o", "wan",
		"-j", "NFQUEUE", "--queue-num", "0", "--queue-bypass")
}

// Constants of nfnetlink_queue (linux/netfilter/nfnetlink_queue.h); the
// syscall package has only the netlink basics.
const (
	netlinkNetfilter   = 12
	nfqMsgPacket       = 3 << 8 // NFNL_SUBSYS_QUEUE << 8 | NFQNL_MSG_PACKET (0)
	nfqMsgVerdict      = 3<<8 | 1
	nfqMsgConfig       = 3<<8 | 2
	nfqaPacketHdr      = 1
	nfqaVerdictHdr     = 2
	nfqaCfgCmd         = 1
	nfqaCfgParams      = 2
	nfqCfgCmdBind      = 1
	nfqCopyMeta        = 1
	nfAccept           = 1
	delayQueueCapacity = 4096
)

// delayQueue is a bound netfilter queue whose packets are accepted delay
// after they arrive, in order: a constant one-way latency.
type delayQueue struct {
	fd      int
	queue   uint16
	delay   time.Duration
	due     chan [2]uint32 // packet id, arrival in ms since start
	start   time.Time
	stopped atomic.Bool
	wg      sync.WaitGroup
	seq     uint32
}

// newDelayQueue binds queue number queue inside ns and starts draining it.
func newDelayQueue(ns string, queue uint16, delay time.Duration) (*delayQueue, error) {
	q := &delayQueue{queue: queue, delay: delay, due: make(chan [2]uint32, delayQueueCapacity), start: time.Now()}
	err := inNamespace(ns, func() error {
		fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, netlinkNetfilter)
		if err != nil {
			return err
		}
		q.fd = fd
		return syscall.Bind(fd, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK})
	})
	if err != nil {
		if q.fd > 0 {
			syscall.Close(q.fd)
		}
		return nil, fmt.Errorf("netfilter queue in %s: %w", ns, err)
	}
	// A receive timeout lets the reader notice close: closing a socket does
	// not wake a thread blocked in recvfrom on it.
	tv := syscall.NsecToTimeval(int64(100 * time.Millisecond))
	syscall.SetsockoptTimeval(q.fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	cmd := []byte{nfqCfgCmdBind, 0, 0, syscall.AF_INET}
	params := []byte{0, 0, 0, 0, nfqCopyMeta} // copy range 0: metadata is all we need
	for _, attr := range []struct {
		typ  uint16
		data []byte
	}{{nfqaCfgCmd, cmd}, {nfqaCfgParams, params}} {
		if err := q.request(nfqMsgConfig, syscall.NLM_F_ACK, attr.typ, attr.data); err != nil {
			syscall.Close(q.fd)
			return nil, fmt.Errorf("netfilter queue in %s: %w", ns, err)
		}
	}
	q.wg.Add(2)
	go q.read()
	go q.release()
	return q, nil
}

// request sends one nfnetlink message with one attribute; with NLM_F_ACK it
// waits for the kernel's answer.
func (q *delayQueue) request(typ, flags, attrType uint16, data []byte) error {
	q.seq++
	attrLen := 4 + len(data)
	msg := make([]byte, 16+4+(attrLen+3)&^3)
	ne := binary.NativeEndian
	ne.PutUint32(msg[0:], uint32(len(msg)))
	ne.PutUint16(msg[4:], typ)
	ne.PutUint16(msg[6:], syscall.NLM_F_REQUEST|flags)
	ne.PutUint32(msg[8:], q.seq)
	// nfgenmsg: family AF_UNSPEC, version 0, the queue number big-endian.
	binary.BigEndian.PutUint16(msg[18:], q.queue)
	ne.PutUint16(msg[20:], uint16(attrLen))
	ne.PutUint16(msg[22:], attrType)
	copy(msg[24:], data)
	if err := syscall.Sendto(q.fd, msg, 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return err
	}
	if flags&syscall.NLM_F_ACK == 0 {
		return nil
	}
	buf := make([]byte, 4096)
	n, _, err := syscall.Recvfrom(q.fd, buf, 0)
	if err != nil {
		return fmt.Errorf("no answer to the netlink request: %w", err)
	}
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil || len(msgs) == 0 || msgs[0].Header.Type != syscall.NLMSG_ERROR || len(msgs[0].Data) < 4 {
		return fmt.Errorf("unexpected netlink answer (%v)", err)
	}
	if code := int32(ne.Uint32(msgs[0].Data)); code != 0 {
		return syscall.Errno(-code)
	}
	return nil
}

// read takes queued packets and notes their arrival.
func (q *delayQueue) read() {
	defer q.wg.Done()
	defer close(q.due)
	buf := make([]byte, 65536)
	for !q.stopped.Load() {
		n, _, err := syscall.Recvfrom(q.fd, buf, 0)
		if err != nil {
			continue // timeout, or ENOBUFS when the kernel's queue overflowed
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			continue
		}
		for _, m := range msgs {
			if m.Header.Type != nfqMsgPacket {
				continue
			}
			if id, ok := packetID(m.Data); ok {
				q.due <- [2]uint32{id, uint32(time.Since(q.start).Milliseconds())}
			}
		}
	}
}

// packetID finds NFQA_PACKET_HDR in a packet message (after its 4-byte
// nfgenmsg) and returns the packet's id.
func packetID(b []byte) (uint32, bool) {
	for b = b[min(4, len(b)):]; len(b) >= 4; {
		l := int(binary.NativeEndian.Uint16(b))
		typ := binary.NativeEndian.Uint16(b[2:]) & 0x3fff
		if l < 4 || l > len(b) {
			return 0, false
		}
		if typ == nfqaPacketHdr && l >= 8 {
			return binary.BigEndian.Uint32(b[4:]), true
		}
		b = b[min((l+3)&^3, len(b)):]
	}
	return 0, false
}

// release accepts each packet when its delay has passed.
func (q *delayQueue) release() {
	defer q.wg.Done()
	for p := range q.due {
		at := q.start.Add(time.Duration(p[1])*time.Millisecond + q.delay)
		time.Sleep(time.Until(at))
		var v [8]byte
		binary.BigEndian.PutUint32(v[0:], nfAccept)
		binary.BigEndian.PutUint32(v[4:], p[0])
		q.request(nfqMsgVerdict, 0, nfqaVerdictHdr, v[:])
	}
}

// close stops the queue; packets still held are dropped with the socket.
func (q *delayQueue) close() {
	q.stopped.Store(true)
	q.wg.Wait()
	syscall.Close(q.fd)
}
