package memnet

import "time"

// scheduler holds the datagrams in flight in a min-heap ordered by arrival
// time then send order, and one timer armed for the earliest arrival. A
// single timer (rather than one per datagram) keeps equal-time deliveries in
// send order and leaves nothing to cancel but itself on Close. All methods
// need n.mu.
type scheduler struct {
	q       []packet
	seq     uint64
	timer   *time.Timer
	stopped bool
}

func (s *scheduler) len() int { return len(s.q) }

func (s *scheduler) less(i, j int) bool {
	if !s.q[i].at.Equal(s.q[j].at) {
		return s.q[i].at.Before(s.q[j].at)
	}
	return s.q[i].seq < s.q[j].seq
}

// push schedules p for delivery at p.at.
func (s *scheduler) push(n *Network, p packet) {
	if s.stopped {
		return
	}
	p.seq = s.seq
	s.seq++
	s.q = append(s.q, p)
	for i := len(s.q) - 1; i > 0; {
		parent := (i - 1) / 2
		if !s.less(i, parent) {
			break
		}
		s.q[i], s.q[parent] = s.q[parent], s.q[i]
		i = parent
	}
	if s.q[0].seq == p.seq { // new earliest arrival
		d := time.Until(p.at)
		if s.timer == nil {
			s.timer = time.AfterFunc(d, n.fire)
		} else {
			s.timer.Reset(d)
		}
	}
}

// pop removes and returns the earliest datagram.
func (s *scheduler) pop() packet {
	p := s.q[0]
	last := len(s.q) - 1
	s.q[0] = s.q[last]
	s.q[last] = packet{} // release the data
	s.q = s.q[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && s.less(l, m) {
			m = l
		}
		if r < last && s.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		s.q[i], s.q[m] = s.q[m], s.q[i]
		i = m
	}
	return p
}

// stop stops the timer and discards the datagrams in flight, returning how
// many there were.
func (s *scheduler) stop() int {
	s.stopped = true
	if s.timer != nil {
		s.timer.Stop()
	}
	k := len(s.q)
	s.q = nil
	return k
}

// fire is the timer callback: it delivers every datagram due and re-arms
// the timer for the next one.
func (n *Network) fire() {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := &n.sched
	if s.stopped {
		return
	}
	now := time.Now()
	for len(s.q) > 0 && !s.q[0].at.After(now) {
		p := s.pop()
		n.deliver(&p, now)
	}
	if len(s.q) > 0 {
		s.timer.Reset(s.q[0].at.Sub(now))
	}
}
