package game

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/google/uuid"

	"github.com/walkie-p2p/walkie/proto"
)

// ScoresFile is the name of the score table in Config.Dir.
const ScoresFile = "scores.json"

// scoresVersion is the version of the file's format.
const scoresVersion = 1

// scoresDoc is the score table as the file holds it:
//
//	{"version": 1, "scores": [{"peer": "<peer id>", "wins": 2, "losses": 0, "draws": 1}, ...]}
type scoresDoc struct {
	Version int        `json:"version"`
	Scores  []apiScore `json:"scores"`
}

// Load returns a game community that keeps its score table in
// cfg.Dir/scores.json: it reads the table now (creating cfg.Dir if need
// be; no file is an empty table) and writes it, atomically, after every
// game that scores. A file it cannot read or parse is an error that names
// it, never an empty table: the scores it held are not overwritten.
func Load(cfg Config) (*Community, error) {
	if cfg.Dir == "" {
		return nil, errors.New("game: Load needs Config.Dir")
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("game: %w", err)
	}
	scores, err := readScores(filepath.Join(cfg.Dir, ScoresFile))
	if err != nil {
		return nil, err
	}
	c := newCommunity(cfg)
	c.scores = scores
	c.dirty = make(chan struct{}, 1)
	return c, nil
}

// readScores reads the score table at path; a missing file is an empty
// table.
func readScores(path string) (map[proto.ID]*Score, error) {
	scores := make(map[proto.ID]*Score)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return scores, nil
	}
	if err != nil {
		return nil, fmt.Errorf("game: reading the score table: %w", err)
	}
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("game: the score table %s is corrupt (%s): move it away to start with no scores, or restore it from a backup",
			path, fmt.Sprintf(format, args...))
	}
	var head struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, corrupt("%s", jsonProblem(err))
	}
	switch {
	case head.Version > scoresVersion:
		return nil, fmt.Errorf("game: the score table %s is of format version %d, and this walkie reads version %d: "+
			"run the walkie that wrote it, or move the file away to start with no scores", path, head.Version, scoresVersion)
	case head.Version == 0:
		return nil, corrupt("no format version")
	case head.Version != scoresVersion:
		return nil, corrupt("format version %d", head.Version)
	}
	var doc scoresDoc
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, corrupt("%s", jsonProblem(err))
	}
	if dec.More() {
		return nil, corrupt("data after the table")
	}
	for i, s := range doc.Scores {
		u, err := uuid.Parse(s.Peer)
		if err != nil || len(s.Peer) != 36 {
			return nil, corrupt("entry %d: peer %q is not a peer ID", i, s.Peer)
		}
		id := proto.ID(u)
		if scores[id] != nil {
			return nil, corrupt("entry %d: peer %s appears twice", i, s.Peer)
		}
		if s.Wins < 0 || s.Losses < 0 || s.Draws < 0 {
			return nil, corrupt("entry %d: a negative count", i)
		}
		scores[id] = &Score{Peer: id, Wins: s.Wins, Losses: s.Losses, Draws: s.Draws}
	}
	return scores, nil
}

// jsonProblem says what err, from decoding the file, found wrong, in
// the file's terms rather than Go's.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		want := "another type"
		switch te.Type.Kind() {
		case reflect.Struct:
			want = "an object"
		case reflect.Slice:
			want = "a list"
		case reflect.Int:
			want = "a whole number"
		case reflect.String:
			want = "a string"
		}
		where := "the file"
		if te.Field != "" {
			where = strings.TrimPrefix(te.Field, "scores.")
		}
		return fmt.Sprintf("%s is a JSON %s, want %s", where, te.Value, want)
	}
	if err.Error() == "unexpected end of JSON input" || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "it ends too soon"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// saveScores writes the score table to its file. Only the loop calls it,
// and Close once the loop has ended, so saves never overlap. A failed save
// is logged and tried again at the next tick (unsaved); the table in
// memory stays whole.
func (c *Community) saveScores() {
	path := filepath.Join(c.cfg.Dir, ScoresFile)
	err := writeFileAtomic(path, c.encodeScores())
	if c.log != nil {
		switch {
		case err != nil && !c.unsaved:
			c.log.Error("game: cannot save the score table; trying again", "file", path, "err", err)
		case err == nil && c.unsaved:
			c.log.Info("game: saved the score table again", "file", path)
		}
	}
	c.unsaved = err != nil
}

// encodeScores returns the score table in the file's format.
func (c *Community) encodeScores() []byte {
	doc := scoresDoc{Version: scoresVersion, Scores: []apiScore{}}
	for _, s := range c.Scores() {
		doc.Scores = append(doc.Scores, apiScore{s.Peer.String(), s.Wins, s.Losses, s.Draws})
	}
	b, _ := json.MarshalIndent(doc, "", "  ") // plain values always encode
	return append(b, '\n')
}

// markScored notes that the score table changed, for the loop to save.
// Called with c.mu held. Scoring needs our own commitment, so a peer cannot
// make us write faster than the user (or AutoPlay) plays; bursts coalesce
// into one save.
func (c *Community) markScored() {
	if c.dirty == nil {
		return
	}
	select {
	case c.dirty <- struct{}{}:
	default:
	}
}

// writeFileAtomic writes data to path, mode 0600, so that readers see the
// old file or the whole new one, never a part.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	// Make the rename itself durable.
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
