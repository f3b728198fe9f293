package main

import (
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/walkie-p2p/walkie/internal/httpjson"
	"github.com/walkie-p2p/walkie/plugins/game"
	"github.com/walkie-p2p/walkie/proto"
)

// The game API, for a local app on the -http address, when -communities
// runs the game in-process (a game served by a plugin plays as a bot and
// has no API here):
//
//	POST /api/game/challenge {"peer": "<peer id>"}             -> 200 {"game": "<game id>"}
//	POST /api/game/move      {"game": "<game id>", "move": "rock"} -> 200 the game
//	GET  /api/game/games     -> 200 {"games": [...]}, newest first
//	GET  /api/game/scores    -> 200 {"scores": [...]}
//
// Errors are JSON {"error": "..."}: 400 for bad JSON, a bad peer or game
// ID, a bad move, or a peer that is not a member; 404 for an unknown game;
// 409 for a move in a finished game or a second move; 503 before the
// community runs.
const gameMaxRequest = 4 << 10 // bytes of a POST body; the largest valid one is under 200

// withGameAPI serves the game API on top of h. With no game it returns h.
func withGameAPI(h http.Handler, g *game.Community) http.Handler {
	if g == nil {
		return h
	}
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("POST /api/game/challenge", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Peer string `json:"peer"`
		}
		if !httpjson.ReadStrict(w, r, gameMaxRequest, &req) {
			return
		}
		u, err := uuid.Parse(req.Peer)
		if err != nil || len(req.Peer) != 36 {
			httpjson.Error(w, http.StatusBadRequest, `"peer" must be a peer ID like 3310f224-6b2c-5ba4-a13d-d6c2f65e89c4`)
			return
		}
		id, err := g.Challenge(proto.ID(u))
		if err != nil {
			httpjson.Error(w, gameStatus(err), err.Error())
			return
		}
		httpjson.Write(w, http.StatusOK, map[string]string{"game": id.String()})
	})
	mux.HandleFunc("POST /api/game/move", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Game string `json:"game"`
			Move string `json:"move"`
		}
		if !httpjson.ReadStrict(w, r, gameMaxRequest, &req) {
			return
		}
		id, err := game.ParseGameID(req.Game)
		if err != nil {
			httpjson.Error(w, http.StatusBadRequest, `"game": `+err.Error())
			return
		}
		m, err := game.ParseMove(req.Move)
		if err != nil {
			httpjson.Error(w, http.StatusBadRequest, `"move": `+err.Error())
			return
		}
		if err := g.Play(id, m); err != nil {
			httpjson.Error(w, gameStatus(err), err.Error())
			return
		}
		snap, _ := g.Game(id)
		httpjson.Write(w, http.StatusOK, gameView(snap))
	})
	mux.HandleFunc("GET /api/game/games", func(w http.ResponseWriter, r *http.Request) {
		games := g.Games()
		out := make([]gameJSONView, len(games))
		for i, s := range games {
			out[i] = gameView(s)
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"games": out})
	})
	mux.HandleFunc("GET /api/game/scores", func(w http.ResponseWriter, r *http.Request) {
		type score struct {
			Peer   string `json:"peer"`
			Wins   int    `json:"wins"`
			Losses int    `json:"losses"`
			Draws  int    `json:"draws"`
		}
		scores := g.Scores()
		out := make([]score, len(scores))
		for i, s := range scores {
			out[i] = score{s.Peer.String(), s.Wins, s.Losses, s.Draws}
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"scores": out})
	})
	// The catch-all under /api/game/ keeps the answers JSON: a wrong
	// method on a known path is 405 with Allow, anything else 404.
	allow := map[string]string{"/api/game/challenge": "POST", "/api/game/move": "POST",
		"/api/game/games": "GET, HEAD", "/api/game/scores": "GET, HEAD"}
	mux.HandleFunc("/api/game/", func(w http.ResponseWriter, r *http.Request) {
		if a, ok := allow[r.URL.Path]; ok {
			w.Header().Set("Allow", a)
			httpjson.Error(w, http.StatusMethodNotAllowed, r.Method+" not allowed")
			return
		}
		httpjson.Error(w, http.StatusNotFound, "no such endpoint")
	})
	return mux
}

// gameJSONView is a game as the API shows it.
type gameJSONView struct {
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

func gameView(g game.Game) gameJSONView {
	return gameJSONView{ID: g.ID.String(), Peer: g.Peer.String(), Challenger: g.Challenger, Started: g.Started,
		Played: g.Played, OpponentPlayed: g.Opponent, Mine: g.Mine.String(), Theirs: g.Theirs.String(),
		Result: string(g.Result), Reason: g.Reason}
}

// gameStatus maps an error of the game API to an HTTP status.
func gameStatus(err error) int {
	switch {
	case errors.Is(err, game.ErrNoGame):
		return http.StatusNotFound
	case errors.Is(err, game.ErrGameOver), errors.Is(err, game.ErrPlayed):
		return http.StatusConflict
	case errors.Is(err, game.ErrTooMany):
		return http.StatusTooManyRequests
	case errors.Is(err, game.ErrNotStarted):
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}
