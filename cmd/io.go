package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"unicode"

	"assist/session"
)

// IO is where a command reads and writes; tests pass buffers.
type IO struct {
	In     io.Reader
	Out    io.Writer // results and events
	ErrOut io.Writer // logs and progress
}

// StdIO is the process's standard streams.
func StdIO() *IO { return &IO{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr} }

// Events prints what a long-running command does: a line of text for a
// person, or with --json one JSON object per line for a script.
type Events struct {
	mu   sync.Mutex
	out  io.Writer
	json bool
}

// NewEvents writes to out, as JSON lines if asJSON.
func NewEvents(out io.Writer, asJSON bool) *Events { return &Events{out: out, json: asJSON} }

// Emit prints one event. fields go into the JSON object next to "event";
// human is the text a person sees (nothing if empty).
func (e *Events) Emit(event string, fields map[string]any, human string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.json {
		if human != "" {
			fmt.Fprintln(e.out, printable(human))
		}
		return
	}
	obj := make(map[string]any, len(fields)+1)
	for k, v := range fields {
		obj[k] = v
	}
	obj["event"] = event
	b, err := json.Marshal(obj)
	if err != nil {
		b, _ = json.Marshal(map[string]any{"event": "error", "error": err.Error()})
	}
	e.out.Write(append(b, '\n'))
}

// eventFields turns a session event into JSON fields for Emit (its Kind
// becomes "event").
func eventFields(e session.Event) map[string]any {
	m := map[string]any{}
	if b, err := json.Marshal(e); err == nil {
		_ = json.Unmarshal(b, &m)
	}
	delete(m, "event")
	return m
}

// newLogger logs to w at the named level.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, usageErrorf("--log-level %q: use debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// printable keeps text from the network (chat, names, comments) from
// steering the terminal: control characters other than newline and tab,
// escape sequences included, are shown as U+FFFD.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || !unicode.IsControl(r) {
			return r
		}
		return '\uFFFD'
	}, s)
}
