package game

import (
	"crypto/sha256"
	"fmt"
	"strings"

	"github.com/walkie-p2p/walkie/proto"
)

// Move is a rock-paper-scissors move. The values are wire constants.
type Move uint8

// The moves. Zero is no move.
const (
	Rock     Move = 1
	Paper    Move = 2
	Scissors Move = 3
)

// String returns the move's name, as the API spells it.
func (m Move) String() string {
	switch m {
	case Rock:
		return "rock"
	case Paper:
		return "paper"
	case Scissors:
		return "scissors"
	case 0:
		return ""
	}
	return fmt.Sprintf("move(%d)", uint8(m))
}

// Valid reports whether m is one of the three moves.
func (m Move) Valid() bool { return m >= Rock && m <= Scissors }

// ParseMove parses "rock", "paper" or "scissors" (any case).
func ParseMove(s string) (Move, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "rock":
		return Rock, nil
	case "paper":
		return Paper, nil
	case "scissors":
		return Scissors, nil
	}
	return 0, fmt.Errorf("game: unknown move %q (want rock, paper or scissors)", s)
}

// beats reports whether m beats o: each move beats the one before it,
// cyclically.
func (m Move) beats(o Move) bool { return m == o%3+1 }

// commitTag starts every commitment, so that no hash made for another
// purpose (or another version of the game) can pass for one.
const commitTag = "walkie/game/commitment/v2"

// Commitment returns the hash that player sends in game before anyone
// reveals, when it plays m with nonce:
//
//	SHA-256("walkie/game/commitment/v2" || game ID || player || move || nonce)
//
// that is the 25 ASCII bytes of the tag, the 16 bytes of the game ID, the
// 16 bytes of the player's peer ID (as in the packet header), the move's
// byte and the 32-byte nonce: 90 bytes, every part of fixed length. The
// random nonce makes the three moves impossible to tell apart from the
// hash. The game and the player make a commitment good for one player in
// one game: an opponent that copies ours cannot open it, since its reveal
// is checked with its own peer ID, nor can one be carried into another
// game.
func Commitment(game GameID, player proto.ID, m Move, nonce [NonceLen]byte) [HashLen]byte {
	h := sha256.New()
	h.Write([]byte(commitTag))
	h.Write(game[:])
	h.Write(player[:])
	h.Write([]byte{byte(m)})
	h.Write(nonce[:])
	var out [HashLen]byte
	h.Sum(out[:0])
	return out
}

// Result is the outcome of a game from our side.
type Result string

// The results. A void game counts for nobody.
const (
	Open Result = ""     // still being played
	Win  Result = "win"  // we won (or the opponent cheated or vanished after committing)
	Loss Result = "loss" // we lost (or we failed to reveal)
	Draw Result = "draw" // same move
	Void Result = "void" // nobody committed in time, or the game was abandoned
)

// outcome returns our result when we played mine and they played theirs.
func outcome(mine, theirs Move) Result {
	switch {
	case mine == theirs:
		return Draw
	case mine.beats(theirs):
		return Win
	}
	return Loss
}
