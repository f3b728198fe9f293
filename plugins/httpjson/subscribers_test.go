package httpjson

import (
	"sync"
	"testing"
)

// Events reach every subscriber in order; one that falls more than
// SubscriberBuffer behind is cut off (its channel closes) while the others
// keep theirs; an ended subscription and Close close channels once, and a
// subscription after Close comes closed.
func TestSubscribers(t *testing.T) {
	var mu sync.Mutex
	var s Subscribers[int]
	slow, _ := s.Subscribe(&mu)
	fast, endFast := s.Subscribe(&mu)
	for i := range SubscriberBuffer + 1 {
		mu.Lock()
		s.Publish(i)
		mu.Unlock()
		if got := <-fast; got != i {
			t.Fatalf("fast subscriber got %d, want %d", got, i)
		}
	}
	for i := range SubscriberBuffer {
		if got := <-slow; got != i {
			t.Fatalf("slow subscriber got %d, want %d", got, i)
		}
	}
	if _, ok := <-slow; ok {
		t.Error("a subscriber more than SubscriberBuffer behind was not cut off")
	}
	if s.Len() != 1 {
		t.Errorf("%d subscribers after the cut, want 1", s.Len())
	}
	endFast()
	endFast() // a second end is harmless
	if _, ok := <-fast; ok || s.Len() != 0 {
		t.Errorf("an ended subscription is open (%v) or still counted (%d)", ok, s.Len())
	}
	last, _ := s.Subscribe(&mu)
	mu.Lock()
	s.Close()
	mu.Unlock()
	if _, ok := <-last; ok {
		t.Error("Close left a subscription open")
	}
	late, end := s.Subscribe(&mu)
	end()
	if _, ok := <-late; ok {
		t.Error("a subscription after Close is open")
	}
}
