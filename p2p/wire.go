package p2p

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Framing shared by every assist protocol.
//
// A message is an unsigned varint length followed by that many bytes. The
// reader is always given a hard maximum, so a peer cannot make us allocate
// more than the protocol allows: a length above it is an error before any
// body is read. Control messages carry JSON bodies (easy to read, to extend
// with new fields, and to document); bulk data such as screen tiles gets its
// own binary layout, framed the same way.

// ErrTooLarge is returned when a frame's declared length exceeds the limit.
var ErrTooLarge = errors.New("message too large")

// WriteFrame writes one length-prefixed frame.
func WriteFrame(w io.Writer, body []byte) error {
	var hdr [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(hdr[:], uint64(len(body)))
	// One write: a frame never reaches the stream in two pieces with a
	// concurrent writer's bytes in between (callers still serialise writes).
	buf := make([]byte, 0, n+len(body))
	buf = append(buf, hdr[:n]...)
	buf = append(buf, body...)
	_, err := w.Write(buf)
	return err
}

// AppendFrame appends body to buf as one frame, for a writer that sends
// several frames in one write.
func AppendFrame(buf, body []byte) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(body)))
	return append(buf, body...)
}

// ReadFrame reads one frame of at most max bytes.
func ReadFrame(r *bufio.Reader, max int) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("read frame length: %w", err)
	}
	if n > uint64(max) {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, n, max)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("read frame body: %w", err)
	}
	return body, nil
}

// WriteJSON writes v as one JSON frame.
func WriteJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	return WriteFrame(w, b)
}

// ReadJSON reads one JSON frame of at most max bytes into v.
func ReadJSON(r *bufio.Reader, max int, v any) error {
	b, err := ReadFrame(r, max)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode message: %w", err)
	}
	return nil
}

// Deadlined is a stream each of whose reads and writes must finish within
// a timeout counted from when it starts (zero: none). A peer that is
// alive but stops reading, or stops sending when it must send (a screen
// sender's keepalives), then frees the goroutine that serves it instead
// of holding it for good.
type Deadlined struct {
	S interface {
		io.ReadWriter
		SetReadDeadline(time.Time) error
		SetWriteDeadline(time.Time) error
	}
	ReadTimeout, WriteTimeout time.Duration
}

func (d Deadlined) Read(p []byte) (int, error) {
	if d.ReadTimeout > 0 {
		_ = d.S.SetReadDeadline(time.Now().Add(d.ReadTimeout))
	}
	return d.S.Read(p)
}

func (d Deadlined) Write(p []byte) (int, error) {
	if d.WriteTimeout > 0 {
		_ = d.S.SetWriteDeadline(time.Now().Add(d.WriteTimeout))
	}
	return d.S.Write(p)
}
