package screen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
)

// Screen stream wire layout, version 2 (protocol /assist/screen/2.0.0 and
// the viewer's WebSocket, which carries the same bytes).
//
// Each message is one p2p frame (or one binary WebSocket message) whose
// first byte says what it is; numbers are unsigned varints:
//
//	'T' tiles:     screenW screenH count { x y w h format len data }*count
//	'C' copies:    screenW screenH count { srcX srcY w h dstX dstY }*count
//	'E' frame end: seq capturedUnixMicros tiles
//	'K' keepalive: (nothing)
//
// A frame is at most one 'C' message, then any number of 'T' messages,
// then one 'E'. A tile lies inside one square of the grid: the whole square
// (cut short at the screen's edge), or a patch of it where only that
// changed. A copy moves a rectangle of the picture as it stands (a scroll,
// a window moved), before the frame's tiles are drawn. Messages carry the
// full screen size so a receiver notices a resolution change. The browser
// draws in order and counts frames on 'E'; the host uses 'E' to measure
// capture-to-viewer latency.

// Message kinds.
const (
	MsgTiles     byte = 'T'
	MsgCopies    byte = 'C'
	MsgFrameEnd  byte = 'E'
	MsgKeepalive byte = 'K'
	// MsgAck goes the other way: the receiver acknowledges frame End.Seq
	// (see Link).
	MsgAck byte = 'A'
)

// MaxMessageSize bounds one message; BatchBytes is where a sender starts a
// new 'T' message.
const (
	MaxMessageSize = 4 << 20
	BatchBytes     = 1 << 20
	maxScreenEdge  = 16384
	// A tile is one square of the grid (cut short at the screen's edge),
	// and its picture at most MaxTileBytes: a receiver holds one per
	// square, so what a sender can make it hold is bounded by the screen.
	maxTileEdge  = TileSize
	MaxTileBytes = 64 << 10
	// Patches and copies make a receiver keep the screen's pixels: they are
	// for screens of at most MaxPartialPixels (two 4K monitors).
	MaxPartialPixels = 2 * 3840 * 2160
	maxCopies        = 16
)

// ErrBadMessage is returned for a message that breaks the layout.
var ErrBadMessage = errors.New("malformed screen message")

// FrameEnd closes a frame.
type FrameEnd struct {
	Seq      uint64
	Captured int64 // unix microseconds at capture
	Tiles    int
}

// Copy moves a rectangle of the picture: Src's pixels go to Dst.
type Copy struct {
	Src image.Rectangle
	Dst image.Point
}

// DstRect is where the copy lands.
func (c Copy) DstRect() image.Rectangle { return c.Src.Add(c.Dst.Sub(c.Src.Min)) }

// Message is a decoded screen message.
type Message struct {
	Kind             byte
	ScreenW, ScreenH int
	Tiles            []Tile
	Copies           []Copy
	End              FrameEnd
}

// Whole reports whether t covers its grid square entirely, on a screen of
// w x h: anything less is a patch.
func (t Tile) Whole(w, h int) bool {
	return t.X%TileSize == 0 && t.Y%TileSize == 0 && t.W == min(TileSize, w-t.X) && t.H == min(TileSize, h-t.Y)
}

// Cell is the grid square t lies in.
func (t Tile) Cell() image.Point {
	return image.Pt(t.X/TileSize*TileSize, t.Y/TileSize*TileSize)
}

// AppendTiles encodes a 'T' message.
func AppendTiles(buf []byte, screenW, screenH int, tiles []Tile) []byte {
	buf = append(buf, MsgTiles)
	buf = binary.AppendUvarint(buf, uint64(screenW))
	buf = binary.AppendUvarint(buf, uint64(screenH))
	buf = binary.AppendUvarint(buf, uint64(len(tiles)))
	for _, t := range tiles {
		for _, v := range []int{t.X, t.Y, t.W, t.H} {
			buf = binary.AppendUvarint(buf, uint64(v))
		}
		buf = append(buf, byte(t.Format))
		buf = binary.AppendUvarint(buf, uint64(len(t.Data)))
		buf = append(buf, t.Data...)
	}
	return buf
}

// AppendCopies encodes a 'C' message.
func AppendCopies(buf []byte, screenW, screenH int, copies []Copy) []byte {
	buf = append(buf, MsgCopies)
	buf = binary.AppendUvarint(buf, uint64(screenW))
	buf = binary.AppendUvarint(buf, uint64(screenH))
	buf = binary.AppendUvarint(buf, uint64(len(copies)))
	for _, c := range copies {
		for _, v := range []int{c.Src.Min.X, c.Src.Min.Y, c.Src.Dx(), c.Src.Dy(), c.Dst.X, c.Dst.Y} {
			buf = binary.AppendUvarint(buf, uint64(v))
		}
	}
	return buf
}

// AppendFrameEnd encodes an 'E' message.
func AppendFrameEnd(buf []byte, e FrameEnd) []byte {
	buf = append(buf, MsgFrameEnd)
	buf = binary.AppendUvarint(buf, e.Seq)
	buf = binary.AppendUvarint(buf, uint64(e.Captured))
	return binary.AppendUvarint(buf, uint64(e.Tiles))
}

// AppendAck encodes an 'A' message.
func AppendAck(buf []byte, seq uint64) []byte {
	return binary.AppendUvarint(append(buf, MsgAck), seq)
}

// Batches splits tiles into groups of at most BatchBytes of image data
// (or one tile, if larger).
func Batches(tiles []Tile) [][]Tile {
	var out [][]Tile
	for len(tiles) > 0 {
		var batch []Tile
		batch, tiles = NextBatch(tiles)
		out = append(out, batch)
	}
	return out
}

// NextBatch returns the first of Batches(tiles), and the tiles after it.
func NextBatch(tiles []Tile) (batch, rest []Tile) {
	size := 0
	for i, t := range tiles {
		if i > 0 && size+len(t.Data) > BatchBytes {
			return tiles[:i], tiles[i:]
		}
		size += len(t.Data)
	}
	return tiles, nil
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint(limit uint64) int {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > limit {
		r.err = ErrBadMessage
		return 0
	}
	r.b = r.b[n:]
	return int(v)
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.err = ErrBadMessage
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

// Decode parses one message. Tile data aliases msg.
func Decode(msg []byte) (Message, error) {
	if len(msg) == 0 || len(msg) > MaxMessageSize {
		return Message{}, fmt.Errorf("%w: size %d", ErrBadMessage, len(msg))
	}
	r := &reader{b: msg[1:]}
	m := Message{Kind: msg[0]}
	switch m.Kind {
	case MsgKeepalive:
	case MsgAck:
		m.End.Seq = uint64(r.uvarint(1 << 62))
	case MsgFrameEnd:
		m.End.Seq = uint64(r.uvarint(1 << 62))
		m.End.Captured = int64(r.uvarint(1 << 62))
		m.End.Tiles = r.uvarint(1 << 20)
	case MsgTiles:
		decodeTiles(r, &m)
	case MsgCopies:
		decodeCopies(r, &m)
	default:
		return Message{}, fmt.Errorf("%w: kind %q", ErrBadMessage, m.Kind)
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = ErrBadMessage
	}
	if r.err != nil {
		return Message{}, r.err
	}
	return m, nil
}

// starts reports whether data starts as a picture of format f does: the
// browser decodes what passes, so nothing else reaches its decoders.
func (f Format) starts(data []byte) bool {
	switch f {
	case FormatPNG:
		return bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n"))
	case FormatJPEG:
		return bytes.HasPrefix(data, []byte{0xff, 0xd8, 0xff})
	case FormatJPEGCompact:
		return len(data) >= 2 && data[0]&^halfFlag >= 1 && data[0]&^halfFlag <= 100
	case FormatIndexed, FormatIndexedDict:
		return len(data) >= 2
	}
	return false
}

func decodeTiles(r *reader, m *Message) {
	m.ScreenW = r.uvarint(maxScreenEdge)
	m.ScreenH = r.uvarint(maxScreenEdge)
	count := r.uvarint(uint64(len(r.b)))
	for i := 0; i < count && r.err == nil; i++ {
		t := Tile{X: r.uvarint(maxScreenEdge), Y: r.uvarint(maxScreenEdge), W: r.uvarint(maxTileEdge), H: r.uvarint(maxTileEdge)}
		f := r.bytes(1)
		n := r.uvarint(MaxTileBytes)
		t.Data = r.bytes(n)
		if r.err != nil {
			return
		}
		t.Format = Format(f[0])
		if !t.Format.starts(t.Data) || t.W == 0 || t.H == 0 || t.X+t.W > m.ScreenW || t.Y+t.H > m.ScreenH ||
			(t.X+t.W-1)/TileSize != t.X/TileSize || (t.Y+t.H-1)/TileSize != t.Y/TileSize ||
			!t.Whole(m.ScreenW, m.ScreenH) && m.ScreenW*m.ScreenH > MaxPartialPixels {
			r.err = ErrBadMessage
			return
		}
		m.Tiles = append(m.Tiles, t)
	}
}

func decodeCopies(r *reader, m *Message) {
	m.ScreenW = r.uvarint(maxScreenEdge)
	m.ScreenH = r.uvarint(maxScreenEdge)
	count := r.uvarint(maxCopies)
	screen := image.Rect(0, 0, m.ScreenW, m.ScreenH)
	if m.ScreenW*m.ScreenH > MaxPartialPixels {
		r.err = ErrBadMessage
	}
	for i := 0; i < count && r.err == nil; i++ {
		x, y, w, h := r.uvarint(maxScreenEdge), r.uvarint(maxScreenEdge), r.uvarint(maxScreenEdge), r.uvarint(maxScreenEdge)
		c := Copy{Src: image.Rect(x, y, x+w, y+h), Dst: image.Pt(r.uvarint(maxScreenEdge), r.uvarint(maxScreenEdge))}
		if r.err != nil {
			return
		}
		if w == 0 || h == 0 || !c.Src.In(screen) || !c.DstRect().In(screen) {
			r.err = ErrBadMessage
			return
		}
		m.Copies = append(m.Copies, c)
	}
}
