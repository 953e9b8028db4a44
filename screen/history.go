package screen

import "fmt"

// HistorySize is how much of a stream's history FormatIndexedDict tiles
// are compressed against: the typing of a few hundred letters. Twice as
// much saved 2 % more bytes of typing and cost half again the time.
const HistorySize = 16 << 10

// history is what a stream's FormatIndexedDict tiles are compressed
// against: the palettes and indexes of the dictionary tiles of the frames
// before, in the order they were sent. Sender and receiver each keep one
// and add a frame's tiles at its end, so both hold the same bytes when
// the next frame's tiles are compressed and decompressed; the tiles of
// one frame depend only on the frames before, and are encoded in
// parallel.
type history struct {
	buf     []byte // the dictionary is its last HistorySize bytes
	pending []byte // this frame's tiles so far
}

// dict is the dictionary of the current frame's tiles.
func (h *history) dict() []byte { return h.buf[max(0, len(h.buf)-HistorySize):] }

// add notes one of the current frame's tiles. Only the frame's last
// HistorySize bytes can be in the next dictionary: a frame of endless
// tiles keeps no more.
func (h *history) add(raw []byte) {
	h.pending = append(h.pending, raw...)
	if len(h.pending) > 2*HistorySize {
		h.pending = append(h.pending[:0], h.pending[len(h.pending)-HistorySize:]...)
	}
}

// endFrame adds the frame's tiles to the dictionary.
func (h *history) endFrame() {
	if len(h.pending) == 0 {
		return
	}
	if len(h.pending) >= HistorySize {
		h.buf = h.buf[:0]
	}
	h.buf = append(h.buf, h.pending...)
	h.pending = h.pending[:0]
	if len(h.buf) > 2*HistorySize { // drop what has left the dictionary
		h.buf = append(h.buf[:0], h.dict()...)
	}
}

// expand turns the FormatIndexedDict tiles of a message into PNGs, as
// they come, and notes them for the dictionary.
func (h *history) expand(tiles []Tile) error {
	for i, t := range tiles {
		if t.Format != FormatIndexedDict {
			continue
		}
		raw, err := inflateIndexed(t.Data, t.W, t.H, h.dict())
		if err != nil {
			return fmt.Errorf("%w: a dictionary tile at %d,%d does not decompress", ErrBadMessage, t.X, t.Y)
		}
		data, err := indexedPNG(raw, int(t.Data[0])+1, t.W, t.H)
		if err != nil {
			return fmt.Errorf("%w: a dictionary tile at %d,%d is no picture", ErrBadMessage, t.X, t.Y)
		}
		tiles[i].Format, tiles[i].Data = FormatPNG, data
		h.add(raw)
	}
	return nil
}
