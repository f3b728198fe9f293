package game_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core/coretest"
	"github.com/walkie-p2p/walkie/plugins/game"
)

// collect reads events from ch until want of them came or a minute of
// (fake) time passed.
func collect(t *testing.T, ch <-chan game.Event, want int) []game.Event {
	t.Helper()
	var got []game.Event
	timeout := time.After(time.Minute)
	for len(got) < want {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("the subscription closed after %d events: %+v", len(got), got)
			}
			got = append(got, ev)
		case <-timeout:
			t.Fatalf("%d events in a minute, want %d: %+v", len(got), want, got)
		}
	}
	return got
}

// TestEvents: each side of a game hears of it from Subscribe as it
// happens: the challenge (the challenged side at once), each commitment,
// and the result with the record that includes it.
func TestEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gs := make([]*game.Community, 2)
		net := twoNodes(t, coretest.Options{Latency: 20 * time.Millisecond},
			func(i int) community.Community { gs[i] = game.New(game.Config{}); return gs[i] })
		a, b := gs[0], gs[1]
		evA, stopA := a.Subscribe()
		defer stopA()
		evB, stopB := b.Subscribe()
		defer stopB()

		id := challenge(t, net, a, net.Node(1).ID)
		ch := collect(t, evB, 1)[0]
		if ch.Kind != game.EventChallenge || ch.Game.ID != id || ch.Game.Challenger || ch.Game.Peer != net.Node(0).ID {
			t.Fatalf("b's first event %+v, want a challenge from a", ch)
		}
		if err := b.Play(id, game.Scissors); err != nil {
			t.Fatal(err)
		}
		gotB := collect(t, evB, 1)
		if ev := gotB[0]; ev.Kind != game.EventMove || !ev.Game.Played || ev.Game.Opponent {
			t.Errorf("b's move event %+v, want its own move", ev)
		}
		// a hears of its challenge and of b's move before it plays.
		gotA := collect(t, evA, 2)
		if ev := gotA[0]; ev.Kind != game.EventChallenge || !ev.Game.Challenger || ev.Game.ID != id {
			t.Errorf("a's first event %+v, want its own challenge", ev)
		}
		if ev := gotA[1]; ev.Kind != game.EventMove || ev.Game.Played || !ev.Game.Opponent || ev.Game.Theirs != 0 {
			t.Errorf("a's second event %+v, want b's move, kept secret", ev)
		}
		if err := a.Play(id, game.Rock); err != nil {
			t.Fatal(err)
		}
		gotA = collect(t, evA, 2)
		if ev := gotA[0]; ev.Kind != game.EventMove || !ev.Game.Played {
			t.Errorf("a's third event %+v, want its own move", ev)
		}
		if ev := gotA[1]; ev.Kind != game.EventResult || ev.Game.Result != game.Win || ev.Game.Theirs != game.Scissors ||
			ev.Score != (game.Score{Peer: net.Node(1).ID, Wins: 1}) {
			t.Errorf("a's result %+v, want a win over scissors and the record 1-0-0", ev)
		}
		gotB = collect(t, evB, 2)
		if ev := gotB[0]; ev.Kind != game.EventMove || !ev.Game.Opponent {
			t.Errorf("b's event %+v, want a's move", ev)
		}
		if ev := gotB[1]; ev.Kind != game.EventResult || ev.Game.Result != game.Loss || ev.Score != (game.Score{Peer: net.Node(0).ID, Losses: 1}) {
			t.Errorf("b's result %+v, want a loss and the record 0-1-0", ev)
		}
		// Nothing more: a resend or a late repair is no event.
		time.Sleep(10 * time.Second) // fake time: the resend loop's turns
		synctest.Wait()
		select {
		case ev := <-evA:
			t.Errorf("a: event %+v after the result", ev)
		case ev := <-evB:
			t.Errorf("b: event %+v after the result", ev)
		default:
		}
	})
}

// TestSubscribeClose: Close ends every subscription, and one made after
// Close is closed at once.
func TestSubscribeClose(t *testing.T) {
	g := game.New(game.Config{})
	ch, stop := g.Subscribe()
	defer stop()
	g.Close()
	if _, ok := <-ch; ok {
		t.Error("an event after Close")
	}
	late, stopLate := g.Subscribe()
	stopLate()
	if _, ok := <-late; ok {
		t.Error("a subscription after Close delivered an event")
	}
}

// TestStream: GET /api/game/stream delivers the changes as server-sent
// events with the API's shapes: a challenge, the opponent's move, our own
// move played through the API, and the result with the score. Two nodes
// on memnet in real time, the challenged node's API on a real HTTP server.
func TestStream(t *testing.T) {
	gs := make([]*game.Community, 2)
	net := twoNodes(t, coretest.Options{}, func(i int) community.Community {
		gs[i] = game.New(game.Config{Retry: 100 * time.Millisecond})
		return gs[i]
	})
	a, b := gs[0], gs[1]
	srv := httptest.NewServer(b.API())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/game/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /api/game/stream: %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := make(chan sse, 16)
	go readSSE(resp, events)
	recv := func(want string) sse {
		t.Helper()
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("the stream ended; want %s", want)
			}
			return ev
		case <-time.After(10 * time.Second):
			t.Fatalf("nothing within 10 s; want %s", want)
		}
		return sse{}
	}
	next := func(want string) map[string]any {
		t.Helper()
		ev := recv("a " + want + " event")
		var data map[string]any
		if ev.event != want || json.Unmarshal([]byte(ev.data), &data) != nil {
			t.Fatalf("event %q %s, want a %q event with JSON data", ev.event, ev.data, want)
		}
		return data
	}
	if c := recv("the opening comment"); c.comment != "walkie game" {
		t.Fatalf("first line %+v, want the comment that opens the stream", c)
	}

	id := challenge(t, net, a, net.Node(1).ID)
	g := next("challenge")["game"].(map[string]any)
	if g["id"] != id.String() || g["peer"] != net.Node(0).ID.String() || g["challenger"] != false || g["result"] != nil {
		t.Errorf("challenge event %v, want game %s from %s", g, id, net.Node(0).ID)
	}
	if err := a.Play(id, game.Paper); err != nil {
		t.Fatal(err)
	}
	if g := next("move")["game"].(map[string]any); g["opponent_played"] != true || g["played"] != false || g["theirs"] != nil {
		t.Errorf("move event %v, want the opponent's move, kept secret", g)
	}
	move := `{"game": "` + id.String() + `", "move": "rock"}`
	if r, err := http.Post(srv.URL+"/api/game/move", "application/json", strings.NewReader(move)); err != nil || r.StatusCode != 200 {
		t.Fatalf("POST /api/game/move: %v %v", r, err)
	}
	if g := next("move")["game"].(map[string]any); g["played"] != true || g["mine"] != "rock" {
		t.Errorf("move event %v, want our move", g)
	}
	res := next("result")
	if g := res["game"].(map[string]any); g["result"] != "loss" || g["theirs"] != "paper" {
		t.Errorf("result event %v, want a loss to paper", g)
	}
	want := map[string]any{"peer": net.Node(0).ID.String(), "wins": 0.0, "losses": 1.0, "draws": 0.0}
	if s, _ := res["score"].(map[string]any); fmt.Sprint(s) != fmt.Sprint(want) {
		t.Errorf("result event's score %v, want %v", res["score"], want)
	}
	// Close ends the stream.
	b.Close()
	select {
	case ev, ok := <-events:
		if ok {
			t.Errorf("after Close: %+v, want the end of the stream", ev)
		}
	case <-time.After(10 * time.Second):
		t.Error("the stream did not end within 10 s of Close")
	}
}

// sse is one server-sent event, or a comment.
type sse struct{ comment, event, data string }

// readSSE reads resp's events into out until the body ends, then closes
// out.
func readSSE(resp *http.Response, out chan<- sse) {
	defer close(out)
	var ev sse
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev != (sse{}) {
				out <- ev
			}
			ev = sse{}
		case strings.HasPrefix(line, ": "):
			ev.comment = line[2:]
		case strings.HasPrefix(line, "event: "):
			ev.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data += line[6:]
		}
	}
}

// TestStreamRoutes: the stream is listed for 405s like the other routes.
func TestStreamRoutes(t *testing.T) {
	h := game.New(game.Config{}).API()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/api/game/stream", nil))
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /api/game/stream: %d, Allow %q; want 405 and GET, HEAD", w.Code, w.Header().Get("Allow"))
	}
}
