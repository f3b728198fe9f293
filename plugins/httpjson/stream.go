package httpjson

import (
	"bytes"
	"context"
	"net/http"
	"time"
)

// Limits of server-sent-event streams: the node's defaults (README,
// docs/security.md). A stream holds a goroutine and a socket for as long as
// it lasts, so without a cap a few hundred idle clients exhaust the
// process's files; without a write deadline one client that stops reading
// holds them forever.
const (
	// MaxStreams is how many event streams a node holds open at once,
	// across every community's API. The next one gets 503.
	MaxStreams = 32
	// StreamWriteTimeout is how long one event (or keep-alive) may take
	// to reach the client's socket; a client that stops reading is cut off
	// after it, and its goroutine and socket freed.
	StreamWriteTimeout = 10 * time.Second
)

// Streams caps the event streams that one server holds open at once and
// bounds the time to write each event. It is safe for concurrent use.
type Streams struct {
	slots        chan struct{} // one element per open stream
	writeTimeout time.Duration
}

// NewStreams returns a cap of n open streams (MaxStreams if n <= 0) whose
// writes each must finish within writeTimeout (StreamWriteTimeout if
// writeTimeout <= 0).
func NewStreams(n int, writeTimeout time.Duration) *Streams {
	if n <= 0 {
		n = MaxStreams
	}
	if writeTimeout <= 0 {
		writeTimeout = StreamWriteTimeout
	}
	return &Streams{slots: make(chan struct{}, n), writeTimeout: writeTimeout}
}

// Open returns how many streams are open now.
func (s *Streams) Open() int { return len(s.slots) }

type streamsKey struct{}

// WithStreams returns a copy of ctx that carries s. The node puts its one
// Streams in the context of every request it serves, so that the streams
// of all communities share one cap; OpenStream takes it from there.
func WithStreams(ctx context.Context, s *Streams) context.Context {
	return context.WithValue(ctx, streamsKey{}, s)
}

// Stream is one open server-sent-events answer. One goroutine uses it: the
// handler that opened it.
type Stream struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	streams *Streams
	closed  bool
}

// OpenStream takes a slot for a server-sent-events answer to r: from the
// Streams in r's context (WithStreams), else from own, the API's own cap
// for when it is served outside a node. It sets the stream's headers; the
// first Comment or Event sends them with status 200. With no slot free it
// answers 503 {"error": ...} and returns false, and the handler just
// returns; otherwise the handler must call Close when it returns.
//
// Every write of the stream must reach the client's socket within the
// Streams' write timeout, which replaces the server's own: a stream lives
// as long as its client, a write to a client that stopped reading does
// not.
func OpenStream(w http.ResponseWriter, r *http.Request, own *Streams) (*Stream, bool) {
	s, _ := r.Context().Value(streamsKey{}).(*Streams)
	if s == nil {
		s = own
	}
	select {
	case s.slots <- struct{}{}:
	default:
		Error(w, http.StatusServiceUnavailable, "too many event streams open; try again later")
		return nil, false
	}
	st := &Stream{w: w, rc: http.NewResponseController(w), streams: s}
	if err := st.rc.SetWriteDeadline(time.Now().Add(s.writeTimeout)); err != nil {
		st.Close()
		Error(w, http.StatusInternalServerError, "streaming unsupported: "+err.Error())
		return nil, false
	}
	SetHeaders(w, "text/event-stream")
	// A stream that ends (the client is cut off, or too far behind to
	// catch up) closes its connection rather than keeping it for another
	// request: its client reconnects anyway, and one that stopped reading
	// would hold the socket until the server's idle timeout.
	w.Header().Set("Connection", "close")
	return st, true
}

// Comment writes a comment line, which clients ignore: the stream's
// opening line, or a keep-alive that stops proxies from closing a silent
// stream. text must be one line.
func (st *Stream) Comment(text string) error {
	return st.write([]byte(": " + text + "\n\n"))
}

// Event writes one event: its id and event name (each one line, or empty
// to leave the field out) and its data, one data line per line of data.
func (st *Stream) Event(id, event string, data []byte) error {
	var b bytes.Buffer
	if id != "" {
		b.WriteString("id: " + id + "\n")
	}
	if event != "" {
		b.WriteString("event: " + event + "\n")
	}
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		b.WriteString("data: ")
		b.Write(line)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return st.write(b.Bytes())
}

// Raw writes b as it is: text already in the event-stream format, such as
// a plugin's stream that the node passes on (plugins/host). It has the
// same write timeout as Event.
func (st *Stream) Raw(b []byte) error {
	return st.write(b)
}

// write sends b to the client within the write timeout. An error means the
// client is gone or does not read: the handler returns, and the server
// closes the connection.
func (st *Stream) write(b []byte) error {
	if err := st.rc.SetWriteDeadline(time.Now().Add(st.streams.writeTimeout)); err != nil {
		return err
	}
	if _, err := st.w.Write(b); err != nil {
		return err
	}
	return st.rc.Flush()
}

// KeepOpen is how long a stream that Serve runs stays silent before a
// keep-alive comment: proxies close silent streams.
const KeepOpen = 15 * time.Second

// Serve writes the opening comment hello, then every value of ch as the
// event that event makes of it, with a keep-alive comment every KeepOpen,
// until ctx ends (the client went, or the server shuts down), ch closes
// (the subscription ended: the client should read the state again and
// reconnect) or a write fails (the client stopped reading). The caller
// subscribes before it calls Serve, so that nothing that happens after the
// opening line is missed, and closes the stream after.
func Serve[T any](ctx context.Context, st *Stream, hello string, ch <-chan T, event func(T) (id, name string, data []byte)) {
	if st.Comment(hello) != nil {
		return
	}
	tick := time.NewTicker(KeepOpen)
	defer tick.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			err = st.Comment("keep-alive")
		case v, ok := <-ch:
			if !ok {
				return
			}
			id, name, data := event(v)
			err = st.Event(id, name, data)
		}
		if err != nil {
			return
		}
	}
}

// Close gives the stream's slot back. It gives the server one more write
// timeout to end the answer: the deadline of the last write may have
// passed while the stream was idle.
func (st *Stream) Close() {
	if st.closed {
		return
	}
	st.closed = true
	st.rc.SetWriteDeadline(time.Now().Add(st.streams.writeTimeout))
	<-st.streams.slots
}
