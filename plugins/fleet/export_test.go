package fleet

import "github.com/walkie-p2p/walkie/proto"

// ForgetForTest empties a collector's view, so that a test can measure
// what the view held.
func (f *Fleet) ForgetForTest() {
	f.coll.mu.Lock()
	defer f.coll.mu.Unlock()
	f.coll.reporters, f.coll.series = map[proto.ID]*reporter{}, 0
}
