package httpjson

import "sync"

// SubscriberBuffer is how many events a subscriber may fall behind before
// it is cut off.
const SubscriberBuffer = 64

// Subscribers is the set of an event source's subscribers, the feed of its
// streams (Serve): each has a buffer of SubscriberBuffer events, and one
// that falls further behind is cut off (its channel closes, and it should
// read the state again). Its owner guards it with its own lock, taken by
// Subscribe and held around Publish and Close, so that events keep the
// order of the changes they tell. The zero value is ready.
type Subscribers[T any] struct {
	chans  map[chan T]struct{}
	closed bool
}

// Subscribe returns a channel of every event published from now on, in
// order, and a function that ends the subscription; after Close the
// channel comes closed. It takes mu, the owner's lock.
func (s *Subscribers[T]) Subscribe(mu sync.Locker) (<-chan T, func()) {
	ch := make(chan T, SubscriberBuffer)
	mu.Lock()
	defer mu.Unlock()
	if s.closed {
		close(ch)
		return ch, func() {}
	}
	if s.chans == nil {
		s.chans = map[chan T]struct{}{}
	}
	s.chans[ch] = struct{}{}
	return ch, func() {
		mu.Lock()
		defer mu.Unlock()
		if _, ok := s.chans[ch]; ok {
			delete(s.chans, ch)
			close(ch)
		}
	}
}

// Len is the number of subscribers: with none, a publisher need not build
// its event.
func (s *Subscribers[T]) Len() int { return len(s.chans) }

// Publish hands v to every subscriber, never waiting: one whose buffer is
// full is cut off. The owner's lock is held.
func (s *Subscribers[T]) Publish(v T) {
	for ch := range s.chans {
		select {
		case ch <- v:
		default:
			delete(s.chans, ch)
			close(ch)
		}
	}
}

// Close ends every subscription, and any later one at once. The owner's
// lock is held.
func (s *Subscribers[T]) Close() {
	s.closed = true
	for ch := range s.chans {
		close(ch)
	}
	clear(s.chans)
}
