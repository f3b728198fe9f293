package proto

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// Every body this package writes is one well-formed msgpack value to the
// reference library, with nothing left over.
func TestBodiesAreMsgpack(t *testing.T) {
	msgs := maxMessages()
	for _, v := range goldenVectors() {
		msgs = append(msgs, v.m)
	}
	for _, m := range msgs {
		body, err := m.AppendBody(nil)
		if err != nil {
			t.Fatal(err)
		}
		r := bytes.NewReader(body)
		dec := msgpack.NewDecoder(r)
		dec.SetMapDecoder(func(d *msgpack.Decoder) (any, error) { return d.DecodeUntypedMap() })
		v, err := dec.DecodeInterface()
		if _, ok := v.(map[any]any); err != nil || !ok || r.Len() != 0 {
			t.Errorf("%v: msgpack: %v, %d bytes left", m.Type(), err, r.Len())
		}
	}
}

// A body written by the reference library decodes to the same message.
func TestLibraryBodies(t *testing.T) {
	want := maxMessages()[1].(*IntroResponse)
	peer := func(p *PeerInfo) map[uint8]any {
		return map[uint8]any{1: p.ID[:], 2: appendAddr(nil, p.LAN)[2:], 3: appendAddr(nil, p.WAN)[2:]}
	}
	var comms [][]byte
	for _, id := range want.Communities {
		comms = append(comms, bytes.Clone(id[:]))
	}
	var peers, more []any
	for i := range want.Peers {
		peers = append(peers, peer(&want.Peers[i]))
	}
	for i := range want.MoreInvitees {
		more = append(more, peer(&want.MoreInvitees[i]))
	}
	body, err := msgpack.Marshal(map[uint8]any{
		1: want.Nonce, 2: appendAddr(nil, want.LAN)[2:], 3: want.Token, 4: comms, 5: peers, 6: peer(want.Invitee), 9: more, 10: want.InviteeNAT.pack(),
		17: want.AltPort, 18: map[uint8]any{1: want.SeedInvitee.ID[:], 2: appendAddr(nil, want.SeedInvitee.LAN)[2:], 3: appendAddr(nil, want.SeedInvitee.WAN)[2:]},
		99: map[string]any{"future": []any{1.5, "x", nil, true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeIntroResponse(body)
	if err != nil || !reflect.DeepEqual(&got, want) {
		t.Errorf("decoded %+v, %v", got, err)
	}
}
