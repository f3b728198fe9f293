package game

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/plugins/httpjson"
	"github.com/walkie-p2p/walkie/proto"
)

// Limits of the API.
const (
	apiMaxRequest = 4 << 10 // bytes of a POST body; the largest valid one is under 200
)

var _ community.APIServer = (*Community)(nil)

// API returns the game's local HTTP API (community.APIServer), for an app on
// the node's -http address; NAME is the community's Name, "game" by
// default. A game served by a plugin (plugins/examples/gameplugin) serves
// the same API through the node.
//
//	POST /api/NAME/challenge {"peer": "<peer id>"}                 -> 200 {"game": "<game id>"}
//	POST /api/NAME/move      {"game": "<game id>", "move": "rock"} -> 200 the game
//	GET  /api/NAME/games     -> 200 {"games": [...]}, newest first
//	GET  /api/NAME/scores    -> 200 {"scores": [...]}
//	GET  /api/NAME/stream    -> server-sent events, from now on (Subscribe):
//	                            "challenge", "move" and "result", each with
//	                            data {"game": <the game after the change>},
//	                            "result" also with "score": the record
//	                            against that opponent; a keep-alive comment
//	                            every 15 s
//
// A game is {"id", "peer", "challenger", "started", "played",
// "opponent_played", "mine", "theirs", "result", "reason"} (apiGame); a
// score {"peer", "wins", "losses", "draws"}. A stream counts against the
// node's cap on open streams (httpjson.MaxStreams, shared by every
// community) and is cut off when one write takes longer than
// httpjson.StreamWriteTimeout, or when its client falls 64 events behind:
// then the client reads /games again.
//
// Errors are JSON {"error": "..."}: 400 for bad JSON (unknown fields
// included), a bad peer or game ID, a bad move, or a peer that is not a
// member; 404 for an unknown game or path; 405 for a wrong method; 409 for
// a move in a finished game or a second move; 415 for a POST that is not
// application/json; 429 for too many open games; 503 before the community
// runs, and while too many streams are open.
func (c *Community) API() http.Handler {
	root := "/api/" + c.Name()
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+root+"/challenge", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Peer string `json:"peer"`
		}
		if !httpjson.ReadStrict(w, r, apiMaxRequest, &req) {
			return
		}
		u, err := uuid.Parse(req.Peer)
		if err != nil || len(req.Peer) != 36 {
			httpjson.Error(w, http.StatusBadRequest, `"peer" must be a peer ID like 3310f224-6b2c-5ba4-a13d-d6c2f65e89c4`)
			return
		}
		id, err := c.Challenge(proto.ID(u))
		if err != nil {
			httpjson.Error(w, apiStatus(err), err.Error())
			return
		}
		httpjson.Write(w, http.StatusOK, map[string]string{"game": id.String()})
	})
	mux.HandleFunc("POST "+root+"/move", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Game string `json:"game"`
			Move string `json:"move"`
		}
		if !httpjson.ReadStrict(w, r, apiMaxRequest, &req) {
			return
		}
		id, err := ParseGameID(req.Game)
		if err != nil {
			httpjson.Error(w, http.StatusBadRequest, `"game": `+err.Error())
			return
		}
		m, err := ParseMove(req.Move)
		if err != nil {
			httpjson.Error(w, http.StatusBadRequest, `"move": `+err.Error())
			return
		}
		if err := c.Play(id, m); err != nil {
			httpjson.Error(w, apiStatus(err), err.Error())
			return
		}
		snap, _ := c.Game(id)
		httpjson.Write(w, http.StatusOK, apiView(snap))
	})
	mux.HandleFunc("GET "+root+"/games", func(w http.ResponseWriter, r *http.Request) {
		games := c.Games()
		out := make([]apiGame, len(games))
		for i, s := range games {
			out[i] = apiView(s)
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"games": out})
	})
	mux.HandleFunc("GET "+root+"/scores", func(w http.ResponseWriter, r *http.Request) {
		scores := c.Scores()
		out := make([]apiScore, len(scores))
		for i, s := range scores {
			out[i] = scoreView(s)
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"scores": out})
	})
	// Its own cap on streams, for when it is served outside a node; in a
	// node the node's cap applies (httpjson.OpenStream).
	streams := httpjson.NewStreams(httpjson.MaxStreams, httpjson.StreamWriteTimeout)
	mux.HandleFunc("GET "+root+"/stream", func(w http.ResponseWriter, r *http.Request) { c.stream(w, r, streams) })
	// The catch-alls keep the answers JSON: a wrong method on a known path
	// is 405 with Allow, anything else 404.
	allow := map[string]string{root + "/challenge": "POST", root + "/move": "POST",
		root + "/games": "GET, HEAD", root + "/scores": "GET, HEAD", root + "/stream": "GET, HEAD"}
	other := func(w http.ResponseWriter, r *http.Request) {
		if a, ok := allow[r.URL.Path]; ok {
			w.Header().Set("Allow", a)
			httpjson.Error(w, http.StatusMethodNotAllowed, r.Method+" not allowed")
			return
		}
		httpjson.Error(w, http.StatusNotFound, "no such endpoint")
	}
	mux.HandleFunc(root, other)
	mux.HandleFunc(root+"/", other)
	return mux
}

// apiGame is a game as the API shows it.
type apiGame struct {
	ID             string    `json:"id"`
	Peer           string    `json:"peer"`
	Challenger     bool      `json:"challenger"` // we sent the invite
	Started        time.Time `json:"started"`
	Played         bool      `json:"played"`          // we committed a move
	OpponentPlayed bool      `json:"opponent_played"` // they committed one
	Mine           string    `json:"mine,omitempty"`
	Theirs         string    `json:"theirs,omitempty"` // once revealed and checked
	Result         string    `json:"result,omitempty"` // win, loss, draw or void; absent while open
	Reason         string    `json:"reason,omitempty"` // why it ended, if not by two reveals
}

// apiView is g as the API shows it.
func apiView(g Game) apiGame {
	return apiGame{ID: g.ID.String(), Peer: g.Peer.String(), Challenger: g.Challenger, Started: g.Started,
		Played: g.Played, OpponentPlayed: g.Opponent, Mine: g.Mine.String(), Theirs: g.Theirs.String(),
		Result: string(g.Result), Reason: g.Reason}
}

// apiScore is a score as the API, and the score table's file, show it.
type apiScore struct {
	Peer   string `json:"peer"`
	Wins   int    `json:"wins"`
	Losses int    `json:"losses"`
	Draws  int    `json:"draws"`
}

func scoreView(s Score) apiScore { return apiScore{s.Peer.String(), s.Wins, s.Losses, s.Draws} }

// apiEvent is the data of a stream's event.
type apiEvent struct {
	Game  apiGame   `json:"game"`
	Score *apiScore `json:"score,omitempty"` // result events only
}

// stream sends every change of a game as a server-sent event until the
// client goes, the node's HTTP server shuts down (both end r.Context()),
// the community closes, the client falls too far behind (then it should
// read /games again and reconnect) or stops reading (a write takes longer
// than the stream's write timeout). streams is the API's own cap, for when
// no node's cap is in r's context (httpjson.OpenStream).
func (c *Community) stream(w http.ResponseWriter, r *http.Request, streams *httpjson.Streams) {
	st, ok := httpjson.OpenStream(w, r, streams)
	if !ok {
		return
	}
	defer st.Close()
	// Subscribe before the opening line: a client that reads /games once
	// it has read it misses nothing.
	events, stop := c.Subscribe()
	defer stop()
	httpjson.Serve(r.Context(), st, "walkie game", events, func(ev Event) (string, string, []byte) {
		data := apiEvent{Game: apiView(ev.Game)}
		if ev.Kind == EventResult {
			s := scoreView(ev.Score)
			data.Score = &s
		}
		b, _ := json.Marshal(data)
		return "", string(ev.Kind), b
	})
}

// apiStatus maps an error of the game API to an HTTP status.
func apiStatus(err error) int {
	switch {
	case errors.Is(err, ErrNoGame):
		return http.StatusNotFound
	case errors.Is(err, ErrGameOver), errors.Is(err, ErrPlayed):
		return http.StatusConflict
	case errors.Is(err, ErrTooMany):
		return http.StatusTooManyRequests
	case errors.Is(err, ErrNotStarted):
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}
