package screen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/jpeg"
	"sync"
)

// A JPEG tile carries about 590 bytes that are the same in every tile of
// one quality and size: the tables (quantisation and Huffman: the
// standard ones of ITU T.81 Annex K, scaled for the quality as libjpeg
// and Go's encoder do) and the frame and scan headers. A 64x64 tile of a
// photo in motion, halved, has about 40 bytes of picture, so those were
// 90 % of the bytes of a screen in motion. FormatJPEGCompact leaves them
// out: its data is one byte (the quality, plus 0x80 for a tile at half
// resolution) and the entropy-coded picture. The receiver rebuilds the
// JPEG (ExpandJPEG) before anything decodes it.

// FormatJPEGCompact is a JPEG tile without its tables, on the wire from
// the customer to the host only.
const FormatJPEGCompact Format = 3

const (
	markerSOI  = 0xd8
	markerDQT  = 0xdb
	markerSOF0 = 0xc0
	markerDHT  = 0xc4
	markerSOS  = 0xda
)

// jpegTables are a quality's DQT segment and the DHT segment, as Go's
// encoder writes them.
type jpegTables struct{ dqt, dht []byte }

var (
	tablesMu sync.Mutex
	tablesOf = map[int]jpegTables{}
)

// tablesFor returns the tables of quality q, learnt from the encoder
// itself (one 8x8 picture encoded once per quality).
func tablesFor(q int) (jpegTables, bool) {
	tablesMu.Lock()
	defer tablesMu.Unlock()
	if t, ok := tablesOf[q]; ok {
		return t, true
	}
	var buf bytes.Buffer
	if jpeg.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 8, 8)), &jpeg.Options{Quality: q}) != nil {
		return jpegTables{}, false
	}
	segs, ok := jpegSegments(buf.Bytes())
	if !ok {
		return jpegTables{}, false
	}
	t := jpegTables{dqt: segs[0], dht: segs[2]}
	tablesOf[q] = t
	return t, true
}

// jpegSegments splits a JPEG as Go's encoder writes it: SOI, then DQT,
// SOF0, DHT (each returned with its marker), then SOS and the rest.
func jpegSegments(b []byte) (segs [4][]byte, ok bool) {
	if len(b) < 4 || b[0] != 0xff || b[1] != markerSOI {
		return segs, false
	}
	rest := b[2:]
	for i, want := range []byte{markerDQT, markerSOF0, markerDHT} {
		if len(rest) < 4 || rest[0] != 0xff || rest[1] != want {
			return segs, false
		}
		n := 2 + int(binary.BigEndian.Uint16(rest[2:4]))
		if n < 4 || n > len(rest) {
			return segs, false
		}
		segs[i], rest = rest[:n], rest[n:]
	}
	if len(rest) < 2 || rest[0] != 0xff || rest[1] != markerSOS {
		return segs, false
	}
	segs[3] = rest
	return segs, true
}

// frameHeaders are the SOF0 segment of a w x h picture and the SOS
// segment as Go's encoder writes them for a colour picture (4:2:0).
func frameHeaders(w, h int) (sof0, sos []byte) {
	sof0 = []byte{0xff, markerSOF0, 0, 17, 8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 3,
		1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1}
	sos = []byte{0xff, markerSOS, 0, 12, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0}
	return sof0, sos
}

// halfFlag marks a compact tile at half resolution.
const halfFlag = 0x80

// compactJPEG leaves everything but the picture out of a JPEG of quality
// q and size w x h (half, if halved, of the tile's) that Go's encoder
// wrote; ok is false if it is not laid out as expected (the tile then
// goes whole).
func compactJPEG(dst []byte, full []byte, q, w, h int, halved bool) (out []byte, ok bool) {
	t, ok := tablesFor(q)
	if !ok {
		return nil, false
	}
	segs, ok := jpegSegments(full)
	if !ok || !bytes.Equal(segs[0], t.dqt) || !bytes.Equal(segs[2], t.dht) {
		return nil, false
	}
	sof0, sos := frameHeaders(w, h)
	scan := segs[3]
	if !bytes.Equal(segs[1], sof0) || !bytes.HasPrefix(scan, sos) || !bytes.HasSuffix(scan, []byte{0xff, 0xd9}) {
		return nil, false
	}
	flag := byte(q)
	if halved {
		flag |= halfFlag
	}
	out = append(dst[:0], flag)
	return append(out, scan[len(sos):len(scan)-2]...), true
}

var errBadCompact = errors.New("bad compact JPEG tile")

// ExpandJPEG rebuilds the JPEG of a w x h FormatJPEGCompact tile.
func ExpandJPEG(data []byte, w, h int) ([]byte, error) {
	if len(data) < 2 || w <= 0 || h <= 0 {
		return nil, errBadCompact
	}
	q := int(data[0] &^ halfFlag)
	if q < 1 || q > 100 {
		return nil, errBadCompact
	}
	if data[0]&halfFlag != 0 {
		w, h = (w+1)/2, (h+1)/2
	}
	t, ok := tablesFor(q)
	if !ok {
		return nil, errBadCompact
	}
	sof0, sos := frameHeaders(w, h)
	out := make([]byte, 0, 2+len(t.dqt)+len(sof0)+len(t.dht)+len(sos)+len(data)+1)
	out = append(out, 0xff, markerSOI)
	out = append(out, t.dqt...)
	out = append(out, sof0...)
	out = append(out, t.dht...)
	out = append(out, sos...)
	out = append(out, data[1:]...)
	return append(out, 0xff, 0xd9), nil
}
