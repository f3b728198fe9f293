package loopback

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// chatMessage is a message as the node's API shows it.
type chatMessage struct {
	ID      string `json:"id"`
	Author  string `json:"author"`
	Lamport uint64 `json:"lamport"`
	Text    string `json:"text"`
	Signed  bool   `json:"signed"`
	Key     string `json:"key"`
	Sig     string `json:"sig"`
}

// postChat posts text through the node's API.
func (n *node) postChat(text string) (chatMessage, error) {
	b, _ := json.Marshal(map[string]string{"text": text})
	resp, err := httpClient.Post("http://"+n.http+"/api/chat", "application/json", strings.NewReader(string(b)))
	if err != nil {
		return chatMessage{}, err
	}
	defer resp.Body.Close()
	var m chatMessage
	if resp.StatusCode != http.StatusOK {
		return m, fmt.Errorf("POST /api/chat: %s", resp.Status)
	}
	return m, json.NewDecoder(resp.Body).Decode(&m)
}

// chatHistory is GET /api/chat.
func (n *node) chatHistory() ([]chatMessage, error) {
	resp, err := httpClient.Get("http://" + n.http + "/api/chat")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var h struct{ Messages []chatMessage }
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/chat: %s", resp.Status)
	}
	return h.Messages, json.NewDecoder(resp.Body).Decode(&h)
}

// TestChatSurvivesKill9 posts through the API of a real bin/walkie, kills it
// with SIGKILL right after the last answer (an answer means the message was
// committed and fsynced), restarts it on the same -data and reads the
// history back. A second node that starts afterwards gets the whole history
// by anti-entropy sync over real UDP.
func TestChatSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	a := startNode(t, "a", nodeArgs(dir, "127.0.0.1", "-communities", "chat")...)
	var posted []chatMessage
	for i := range 5 {
		m, err := a.postChat(fmt.Sprintf("message %d, é", i))
		if err != nil {
			t.Fatal(err)
		}
		if !m.Signed || len(m.Key) != 64 || len(m.Sig) != 128 {
			t.Fatalf("posted %+v, want it signed", m)
		}
		posted = append(posted, m)
	}
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-a.exited
	a = startNode(t, "a again", nodeArgs(dir, "127.0.0.1", "-communities", "chat")...)
	h, err := a.chatHistory()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(h, posted) {
		t.Fatalf("history after kill -9:\n%+v\nwant\n%+v", h, posted)
	}

	b := startNode(t, "b", nodeArgs(t.TempDir(), "127.0.0.2", "-communities", "chat", "-bootstrap", a.lan)...)
	start := time.Now()
	if !poll(30*time.Second, func() bool {
		h, err := b.chatHistory()
		return err == nil && slices.Equal(h, posted)
	}) {
		h, _ := b.chatHistory()
		t.Fatalf("b's history after 30 s: %+v", h)
	}
	t.Logf("b caught up with %d messages %v after it started", len(posted), time.Since(start).Round(time.Millisecond))
}
