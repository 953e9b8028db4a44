package session

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Transcript is the host's record of a session: one JSON object per line
// (chat, joins and leaves, consents, control changes, the end), appended
// and synced to disk per event, so it survives a crash of the host.
type Transcript struct {
	mu   sync.Mutex
	f    *os.File
	Path string
	// lost counts the entries that could not be written since the last
	// one that could; the next entry written is preceded by a gap record.
	lost int
}

// EvTranscriptGap marks, in a transcript, entries that could not be
// written (a full disk): the transcript is incomplete there.
const EvTranscriptGap = "transcript_gap"

// TranscriptEntry is one line of a transcript.
type TranscriptEntry struct {
	Time time.Time `json:"time"`
	Event
}

// OpenTranscript creates dir/<session>.jsonl, readable by its owner only.
func OpenTranscript(dir, session string) (*Transcript, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("transcript directory: %w", err)
	}
	path := filepath.Join(dir, session+".jsonl")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open transcript: %w", err)
	}
	return &Transcript{f: f, Path: path}, nil
}

// Append writes one entry and syncs it to disk before returning.
func (t *Transcript) Append(e Event) error {
	b, err := json.Marshal(TranscriptEntry{Time: time.Now().UTC(), Event: e})
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.lost > 0 {
		gap, _ := json.Marshal(TranscriptEntry{Time: time.Now().UTC(), Event: Event{Kind: EvTranscriptGap,
			Text: fmt.Sprintf("%d events could not be written here: the transcript is incomplete", t.lost)}})
		b = append(append(gap, '\n'), b...)
	}
	_, err = t.f.Write(append(b, '\n'))
	if err == nil {
		err = t.f.Sync()
	}
	if err != nil {
		t.lost++
		return fmt.Errorf("write transcript %s: %w", t.Path, err)
	}
	t.lost = 0
	return nil
}

// Close closes the file.
func (t *Transcript) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.f.Close()
}
