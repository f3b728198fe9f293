package community_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/walkie-p2p/walkie/community"
)

// note is a message of a notes community. Short keys keep bodies small.
type note struct {
	Seq  uint64 `msgpack:"s"`
	Text string `msgpack:"t"`
}

func ExampleTyped() {
	onNote := func(_ context.Context, from community.Peer, n *note) error {
		// Decode checked the form; the meaning is the handler's to check.
		if n.Text == "" || len(n.Text) > 200 {
			return errors.New("notes: bad text")
		}
		fmt.Printf("note %d: %s\n", n.Seq, n.Text)
		return nil
	}
	spec := community.MessageSpec{Type: 1, Name: "note", MaxSize: 256, Handle: community.Typed(onNote)}

	body, _ := msgpack.Marshal(&note{Seq: 1, Text: "hello"})
	fmt.Println(spec.Handle(context.Background(), community.Peer{}, body))

	// A 9-byte body whose text claims 4 GiB never reaches onNote, and
	// refusing it allocates nothing.
	hostile := []byte{0x81, 0xa1, 't', 0xdb, 0xff, 0xff, 0xff, 0xff, 'x'}
	err := spec.Handle(context.Background(), community.Peer{}, hostile)
	fmt.Println(errors.Is(err, community.ErrMalformed))
	// Output:
	// note 1: hello
	// <nil>
	// true
}
