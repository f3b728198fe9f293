package seed

import "unicode/utf8"

// checker follows the seed's message classes (Message.createFromStream and
// each type's fromMap) through their casts, in their order: the first
// failure decides what becomes of the datagram.
type checker struct {
	odd bool // outside walkie's profile, though the seed takes it
}

// The keys the seed writes for each type, and so walkie.
var profileKeys = [...][]string{
	TypeIntroRequest:    {"type", "peer_id", "destination", "connection_type", "network_operator"},
	TypeIntroResponse:   {"type", "peer_id", "destination", "connection_type", "network_operator", "internal_source", "invitee", "pex"},
	TypePunctureRequest: {"type", "peer_id", "destination", "source", "puncture_peer"},
	TypePuncture:        {"type", "peer_id", "destination", "source"},
}

func (c *checker) message(d map[string]any) error {
	v, ok := d["type"]
	if !ok {
		return ErrWouldDrop // "Invalid message"
	}
	t, ok := v.(int64) // (int) (long) dict.get(TYPE)
	if !ok {
		return ErrWouldKill
	}
	typ := Type(0)
	switch int32(t) {
	case 1, 2, 3, 4:
		typ = Type(int32(t))
	default:
		return ErrWouldDrop // "Unknown message"
	}
	if t != int64(typ) {
		c.odd = true // a long the cast to int cut down to a type
	}
	c.only(d, profileKeys[typ]...)
	if err := c.peerID(d, true); err != nil {
		return err
	}
	switch typ {
	case TypeIntroRequest:
		if err := c.address(d, "destination", false); err != nil {
			return err
		}
		return c.connOperator(d)
	case TypeIntroResponse:
		for _, k := range []string{"internal_source", "destination"} {
			if err := c.address(d, k, false); err != nil {
				return err
			}
		}
		if _, ok := d["invitee"]; ok {
			if err := c.address(d, "invitee", true); err != nil {
				return err
			}
		}
		if err := c.connOperator(d); err != nil {
			return err
		}
		return c.pex(d["pex"])
	case TypePunctureRequest:
		for _, k := range []string{"destination", "source"} {
			if err := c.address(d, k, false); err != nil {
				return err
			}
		}
		return c.address(d, "puncture_peer", true)
	}
	for _, k := range []string{"source", "destination"} {
		if err := c.address(d, k, false); err != nil {
			return err
		}
	}
	return nil
}

// only notes keys the seed ignores: walkie writes none.
func (c *checker) only(d map[string]any, keys ...string) {
	n := 0
	for _, k := range keys {
		if _, ok := d[k]; ok {
			n++
		}
	}
	if n != len(d) {
		c.odd = true
	}
}

// peerID is (String) map.get(PEER_ID): missing is null, which the seed
// allows (walkie always sends one, at the top), another type kills.
func (c *checker) peerID(d map[string]any, required bool) error {
	v, ok := d["peer_id"]
	if !ok {
		if required {
			c.odd = true
		}
		return nil
	}
	s, ok := v.(string)
	if !ok {
		return ErrWouldKill
	}
	if _, err := ParsePeerID(s); err != nil {
		c.odd = true
	}
	return nil
}

// connOperator is (long) map.get(CONNECTION_TYPE), whose unboxing of a
// missing value kills, then (String) map.get(NETWORK_OPERATOR).
func (c *checker) connOperator(d map[string]any) error {
	if _, ok := d["connection_type"].(int64); !ok {
		return ErrWouldKill
	}
	v, ok := d["network_operator"]
	if !ok {
		c.odd = true
		return nil
	}
	s, ok := v.(string)
	if !ok {
		return ErrWouldKill
	}
	if len(s) > MaxOperator || !utf8.ValidString(s) {
		c.odd = true
	}
	return nil
}

// pex is the cast to List<Map>, then the loop over it: a missing list is
// a null the loop dereferences; an entry that is not a dict fails the
// loop's cast to Map.
func (c *checker) pex(v any) error {
	l, ok := v.([]any)
	if !ok {
		return ErrWouldKill
	}
	for _, e := range l {
		if err := c.addressDict(e, true); err != nil {
			return err
		}
	}
	return nil
}

// address is createMapAddress((Map) map.get(key)), or createMapPeer when
// withID.
func (c *checker) address(d map[string]any, key string, withID bool) error {
	return c.addressDict(d[key], withID)
}

func (c *checker) addressDict(v any, withID bool) error {
	m, ok := v.(map[string]any)
	if !ok {
		return ErrWouldKill // null: NullPointerException; another type: ClassCastException
	}
	_, hasPort := m["port"]
	_, hasAddr := m["address"]
	if !hasPort || !hasAddr {
		return ErrWouldDrop // "Invalid address map"
	}
	port, ok := m["port"].(int64)
	if !ok {
		return ErrWouldKill
	}
	addr, ok := m["address"].(string)
	if !ok {
		return ErrWouldKill
	}
	if p := int32(port); p < 0 || p > 65535 {
		return ErrWouldKill // new InetSocketAddress: "port out of range"
	}
	if port < 1 || port > 65535 {
		c.odd = true
	}
	// A name would be looked up on the listen thread, and one that does not
	// resolve kills the seed when it writes the address back.
	if _, ok := parseQuad([]byte(addr)); !ok {
		c.odd = true
	}
	if withID {
		c.only(m, "address", "port", "peer_id")
		return c.peerID(m, false)
	}
	c.only(m, "address", "port")
	return nil
}
