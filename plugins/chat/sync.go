package chat

import (
	"bytes"
	"encoding/binary"
	"hash/fnv"
	"math"
	"math/rand/v2"

	"github.com/google/uuid"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
	bolt "go.etcd.io/bbolt"

	"github.com/walkie-p2p/walkie/community"
)

// Anti-entropy (Dispersy's bloom-filter sync). Every SyncInterval a node
// picks a random member and sends it a summary of one slice of its history:
// a Lamport range and a Bloom filter of the IDs it holds in that range. The
// member answers with the messages of the range that are not in the filter,
// oldest first, at most MaxPerRound of them, one datagram each. A larger gap
// closes over several rounds; each round's filter includes what the last
// one brought. A false positive hides a message for one round only, since
// every request uses a fresh salt.
const (
	// maxSliceMessages is how many messages one filter covers at most. At
	// 16 bits per message and 4 hashes the false positive rate is 0.2%.
	maxSliceMessages = 512
	bitsPerMessage   = 16
	bloomHashes      = 4
	minFilterBytes   = 8
	maxFilterBytes   = maxSliceMessages * bitsPerMessage / 8 // 1024
	// maxSyncBody is the largest encoded sync request: array header, the
	// version, two uint64, a uint32, and the filter with its bin16 prefix.
	maxSyncBody = 1 + 1 + 2*9 + 5 + 3 + maxFilterBytes
)

// syncRequest is a summary of the sender's messages with Lamport times in
// [Lo, Hi]: Bits is a Bloom filter of their IDs, hashed with Salt.
type syncRequest struct {
	Lo, Hi uint64
	Salt   uint32
	Bits   []byte
}

// bloomIndexes calls f with the bit positions of id in a filter of m bits:
// double hashing over FNV-1a-128 of salt and ID (Kirsch and Mitzenmacher).
func bloomIndexes(salt uint32, id uuid.UUID, m uint64, f func(uint64) bool) bool {
	h := fnv.New128a()
	var s [4]byte
	binary.LittleEndian.PutUint32(s[:], salt)
	h.Write(s[:])
	h.Write(id[:])
	sum := h.Sum(nil)
	h1, h2 := binary.LittleEndian.Uint64(sum[:8]), binary.LittleEndian.Uint64(sum[8:])|1
	for i := range uint64(bloomHashes) {
		if !f((h1 + i*h2) % m) {
			return false
		}
	}
	return true
}

// add sets id's bits.
func (r *syncRequest) add(id uuid.UUID) {
	bloomIndexes(r.Salt, id, uint64(len(r.Bits))*8, func(i uint64) bool {
		r.Bits[i/8] |= 1 << (i % 8)
		return true
	})
}

// has reports whether id may be in the filter.
func (r *syncRequest) has(id uuid.UUID) bool {
	return bloomIndexes(r.Salt, id, uint64(len(r.Bits))*8, func(i uint64) bool {
		return r.Bits[i/8]&(1<<(i%8)) != 0
	})
}

// newSyncRequest summarises one slice of the store's history, with the
// refused messages of its range in the filter too.
// Slices are cut every maxSliceMessages from the newest end; the newest is
// picked half of the time (new messages matter most), otherwise a random
// one, so that old gaps close too. Consecutive slices' ranges touch, the
// first starts past the retention floor (what is below it would be
// refused) and the last ends at MaxUint64. It reads keys only, two walks
// of at most the store's messages, and keeps at most one slice of IDs.
func (s *store) newSyncRequest(refused []idAt) (*syncRequest, error) {
	r := &syncRequest{Lo: 0, Hi: math.MaxUint64, Salt: rand.Uint32()}
	var ids []uuid.UUID
	err := s.db.View(func(tx *bolt.Tx) error {
		md := readMeta(tx)
		if md.floor > 0 {
			r.Lo = md.floor + 1
		}
		n := int(md.count)
		nSlices := max(1, (n+maxSliceMessages-1)/maxSliceMessages)
		sl := nSlices - 1 // the newest
		if nSlices > 1 && rand.IntN(2) == 0 {
			sl = rand.IntN(nSlices)
		}
		// Slice sl holds the messages [start, end) of the n in order.
		end := n - (nSlices-1-sl)*maxSliceMessages
		start := max(0, end-maxSliceMessages)
		c := tx.Bucket(bucketMessages).Cursor()
		if nSlices > 1 {
			i := n - 1
			for k, _ := c.Last(); k != nil && i >= start; k, _ = c.Prev() {
				if i == end {
					r.Hi = keyLamport(k) - 1
				}
				if i == start && sl > 0 {
					r.Lo = keyLamport(k)
				}
				i--
			}
			if r.Hi < r.Lo {
				// Over 512 messages share one Lamport time (only a hostile
				// peer makes that): take the whole time.
				r.Hi = r.Lo
			}
		}
		for k, _ := c.Seek(be64(r.Lo)); k != nil && keyLamport(k) <= r.Hi; k, _ = c.Next() {
			ids = append(ids, uuid.UUID(keyID(k)))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, x := range refused {
		if x.lamport >= r.Lo && x.lamport <= r.Hi {
			ids = append(ids, x.id)
		}
	}
	size := min(maxFilterBytes, max(minFilterBytes, len(ids)*bitsPerMessage/8))
	r.Bits = make([]byte, size)
	for _, id := range ids {
		r.add(id)
	}
	return r, nil
}

// missing returns, oldest first, the encodings of up to limit signed
// messages of the store in the request's range that its filter does not
// hold. Unsigned messages (kept from version 1) are never offered: nobody
// could check who wrote them, and no node of this version would take them.
func (s *store) missing(r *syncRequest, limit int) ([][]byte, error) {
	var out [][]byte
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketMessages).Cursor()
		for k, v := c.Seek(be64(r.Lo)); k != nil && keyLamport(k) <= r.Hi && len(out) < limit; k, v = c.Next() {
			if isSigned(v) && !r.has(uuid.UUID(keyID(k))) {
				out = append(out, bytes.Clone(v))
			}
		}
		return nil
	})
	return out, err
}

// announced is the least of the sender's clock that a request shows: it
// holds messages up to a slice's upper end, and its slices start at or
// below its clock.
func (r *syncRequest) announced() uint64 {
	if r.Hi != math.MaxUint64 {
		return r.Hi + 1
	}
	return r.Lo
}

// encode returns the request's body: the msgpack array [version, lo, hi,
// salt, bits].
func (r *syncRequest) encode() []byte {
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	_ = e.EncodeArrayLen(5)
	_ = e.EncodeUint(Version)
	_ = e.EncodeUint(r.Lo)
	_ = e.EncodeUint(r.Hi)
	_ = e.EncodeUint(uint64(r.Salt))
	_ = e.EncodeBytes(r.Bits)
	return buf.Bytes()
}

// decodeSyncRequest parses and checks a request body.
func decodeSyncRequest(b []byte) (*syncRequest, error) {
	if len(b) > maxSyncBody {
		return nil, errBadBody
	}
	var r syncRequest
	if err := community.Decode(b, &r); err != nil {
		return nil, err
	}
	if r.Hi < r.Lo || len(r.Bits) < minFilterBytes || len(r.Bits) > maxFilterBytes {
		return nil, errBadBody
	}
	return &r, nil
}

// DecodeMsgpack reads the version first, and refuses a request of another
// version by that number; then the forms encode writes, as chat always
// has: a fixarray, unsigned integers of any width (the salt within 32
// bits), and a bin8 or bin16 filter. msgpack/v5 alone would take more
// forms (signed integers, nil, a string filter), each a second encoding.
// community.Decode calls it once every length in the body is bounded.
func (r *syncRequest) DecodeMsgpack(d *msgpack.Decoder) error {
	fixed := peek(d, func(c byte) bool { return c == msgpcode.FixedArrayLow|5 }) == nil
	if err := readVersion(d, typeSync, 5); err != nil {
		return err
	}
	if !fixed {
		return errBadBody
	}
	var salt uint64
	for _, p := range [...]*uint64{&r.Lo, &r.Hi, &salt} {
		if err := peek(d, isUint); err != nil {
			return err
		}
		v, err := d.DecodeUint64()
		if err != nil {
			return err
		}
		*p = v
	}
	if salt > math.MaxUint32 {
		return errBadBody
	}
	r.Salt = uint32(salt)
	if err := peek(d, func(c byte) bool { return c == msgpcode.Bin8 || c == msgpcode.Bin16 }); err != nil {
		return err
	}
	var err error
	r.Bits, err = d.DecodeBytes()
	return err
}

// peek checks that the next value starts with a code that ok accepts.
func peek(d *msgpack.Decoder, ok func(byte) bool) error {
	c, err := d.PeekCode()
	if err != nil {
		return err
	}
	if !ok(c) {
		return errBadBody
	}
	return nil
}

// isUint reports whether c starts an unsigned integer.
func isUint(c byte) bool {
	return c <= msgpcode.PosFixedNumHigh || c >= msgpcode.Uint8 && c <= msgpcode.Uint64
}
