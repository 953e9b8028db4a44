package screen

import (
	"bytes"
	"cmp"
	"compress/flate"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"slices"
	"sync"

	kflate "github.com/klauspost/compress/flate"
)

// A PNG of a few colours carries about 75 bytes of chunks around its
// picture (signature, IHDR, PLTE and IDAT headers, zlib's header and
// checksum, IEND, every chunk's CRC): most of the bytes of a typed
// character's patch. FormatIndexed is the same picture without them:
//
//	colours-1 (one byte), then compressed with deflate (RFC 1951): the
//	palette (RGB, 3 bytes a colour, each the difference from the colour
//	before it, per channel modulo 256) and the colour indexes packed at
//	1, 2, 4 or 8 bits a pixel (the fewest that hold them), each row on
//	whole bytes.
//
// The channel's own integrity check makes the checksums redundant. A
// small tile is compressed thoroughly (the palette of anti-aliased text
// is shades between two colours, which deflate finds), a large one fast. The host rebuilds a PNG (ExpandIndexed) before anything
// downstream sees it.

// FormatIndexed is a tile of at most 256 colours without PNG's chunks, on
// the wire from the customer to the host only.
const FormatIndexed Format = 4

// FormatIndexedDict is FormatIndexed compressed with the stream's
// history as deflate's preset dictionary: the palettes and indexes
// (decompressed) of the FormatIndexedDict tiles of the frames before,
// newest last, at most HistorySize bytes (see history). A typed letter
// has mostly been typed before: its tile then costs a few references to
// one that was, where on its own it cost a hundred bytes. Receive turns
// these tiles into PNGs; they mean nothing outside their stream.
const FormatIndexedDict Format = 5

// indexDepth is the bits a pixel of a picture of n colours takes.
func indexDepth(n int) int {
	switch {
	case n <= 2:
		return 1
	case n <= 4:
		return 2
	case n <= 16:
		return 4
	}
	return 8
}

// indexedSize is the bytes of the palette and indexes of a w x h picture
// of n colours.
func indexedSize(n, w, h int) int { return 3*n + (w*indexDepth(n)+7)/8*h }

// indexedEncoder compresses index rows, reusing its buffers.
type indexedEncoder struct {
	sorted []paletteEntry
	order  [256]uint8 // a colour's index → its place in the sorted palette
	raw    []byte
	out    bytes.Buffer
	small  *kflate.Writer
	large  *kflate.Writer
	// withDict compresses with a preset dictionary, which the standard
	// library's writer cannot be given again without being made anew
	// (hundreds of kilobytes each time).
	withDict *kflate.Writer
}

// smallIndexed is the size of input below which a tile is compressed
// thoroughly, and against the history where the stream keeps one.
const smallIndexed = 2048

// encode returns the FormatIndexed bytes of p; they are valid until the
// next call.
func (e *indexedEncoder) encode(p *image.Paletted) ([]byte, error) {
	e.pack(p)
	fw, err := e.writer(len(e.raw) < smallIndexed)
	if err != nil {
		return nil, err
	}
	return e.compress(fw, len(p.Palette))
}

// encodeDict returns the FormatIndexedDict bytes of p compressed with
// dict, and the palette and indexes they hold (the history's part); both
// are valid until the next call. It compresses as well as deflate can:
// about 130 µs a tile with a full history.
func (e *indexedEncoder) encodeDict(p *image.Paletted, dict []byte) (data, raw []byte, err error) {
	e.pack(p)
	if e.withDict == nil {
		if e.withDict, err = kflate.NewWriter(&e.out, kflate.BestCompression); err != nil {
			return nil, nil, err
		}
	}
	e.out.Reset()
	e.withDict.ResetDict(&e.out, dict)
	data, err = e.compress(e.withDict, len(p.Palette))
	return data, e.raw, err
}

// pack lays p's palette and indexes out in e.raw.
func (e *indexedEncoder) pack(p *image.Paletted) {
	w, h := p.Rect.Dx(), p.Rect.Dy()
	depth := indexDepth(len(p.Palette))
	rowBytes := (w*depth + 7) / 8
	e.raw = e.appendPalette(e.raw[:0], p.Palette)
	pal := len(e.raw)
	e.raw = append(e.raw, make([]byte, rowBytes*h)...)
	packed := e.raw[pal:]
	perByte := 8 / depth
	for y := range h {
		row := p.Pix[y*p.Stride:][:w]
		dst := packed[y*rowBytes:][:rowBytes]
		for x, i := range row {
			i = e.order[i]
			shift := uint(8 - depth - x%perByte*depth) // the leftmost pixel in the highest bits, as PNG
			dst[x/perByte] |= i << shift
		}
	}
}

// compress writes the colour count and e.raw through fw, which writes to
// e.out, and returns e.out's bytes.
func (e *indexedEncoder) compress(fw io.WriteCloser, colours int) ([]byte, error) {
	e.out.Reset()
	e.out.WriteByte(byte(colours - 1))
	if _, err := fw.Write(e.raw); err != nil {
		return nil, err
	}
	if err := fw.Close(); err != nil {
		return nil, err
	}
	return e.out.Bytes(), nil
}

// appendPalette appends pal sorted by brightness, each colour as its
// difference from the one before (per channel, modulo 256), and notes in
// e.order where each colour went. Anti-aliased text is shades between
// its ink and its background: sorted, their differences repeat, which
// deflate finds and plain colours it does not.
func (e *indexedEncoder) appendPalette(dst []byte, pal color.Palette) []byte {
	e.sorted = e.sorted[:0]
	for i, c := range pal {
		r, g, b, _ := c.RGBA()
		e.sorted = append(e.sorted, paletteEntry{rgb: [3]byte{byte(r >> 8), byte(g >> 8), byte(b >> 8)}, was: uint8(i)})
	}
	// Colours are distinct, so brightness then RGB orders them fully: the
	// same glyph gets the same palette wherever its pixels start, which
	// the history finds, and pdqsort beats a stable sort's merges.
	slices.SortFunc(e.sorted, func(a, b paletteEntry) int {
		if d := a.brightness() - b.brightness(); d != 0 {
			return d
		}
		return cmp.Compare(a.key(), b.key())
	})
	var prev [3]byte
	for i, c := range e.sorted {
		e.order[c.was] = uint8(i)
		dst = append(dst, c.rgb[0]-prev[0], c.rgb[1]-prev[1], c.rgb[2]-prev[2])
		prev = c.rgb
	}
	return dst
}

type paletteEntry struct {
	rgb [3]byte
	was uint8
}

func (c paletteEntry) brightness() int { return int(c.rgb[0]) + int(c.rgb[1]) + int(c.rgb[2]) }

func (c paletteEntry) key() int { return int(c.rgb[0])<<16 | int(c.rgb[1])<<8 | int(c.rgb[2]) }

// writer returns a deflate writer onto e.out: a thorough one for a small
// tile, a fast one for a large. klauspost's levels 5 and 2 make tiles of
// a scrolling terminal as small as the standard library's best and fast
// levels, or smaller, at a quarter and four fifths of the time: the best
// level cleared 256 KB of tables for each tile of a few hundred bytes.
func (e *indexedEncoder) writer(small bool) (*kflate.Writer, error) {
	w, level := &e.large, 2
	if small {
		w, level = &e.small, 5
	}
	if *w == nil {
		fw, err := kflate.NewWriter(&e.out, level)
		*w = fw
		return fw, err
	}
	(*w).Reset(&e.out)
	return *w, nil
}

var errBadIndexed = errors.New("bad indexed tile")

// inflaters are deflate readers kept for reuse: each holds a 32 KB window.
var inflaters sync.Pool

// ExpandIndexed rebuilds a w x h FormatIndexed tile as a PNG.
func ExpandIndexed(data []byte, w, h int) ([]byte, error) {
	raw, err := inflateIndexed(data, w, h, nil)
	if err != nil {
		return nil, err
	}
	return indexedPNG(raw, int(data[0])+1, w, h)
}

// indexedPNG is the PNG of the w x h picture of n colours whose palette
// and indexes raw holds.
func indexedPNG(raw []byte, n, w, h int) ([]byte, error) {
	img, err := palettedOf(raw, n, w, h)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := expandEncoder.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// expandEncoder writes the PNGs indexed tiles become, its compressors
// shared: a new one is some 800 KB to allocate and clear, for each of the
// hundreds of tiles of a scrolling terminal.
var expandEncoder = png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &sharedPNGBuffers{}}

// sharedPNGBuffers is a png.EncoderBufferPool safe for concurrent use.
type sharedPNGBuffers struct{ pool sync.Pool }

func (p *sharedPNGBuffers) Get() *png.EncoderBuffer {
	b, _ := p.pool.Get().(*png.EncoderBuffer)
	return b
}

func (p *sharedPNGBuffers) Put(b *png.EncoderBuffer) { p.pool.Put(b) }

// inflateIndexed returns the palette and indexes of a FormatIndexed (dict
// nil) or FormatIndexedDict tile of w x h, at most a grid square.
func inflateIndexed(data []byte, w, h int, dict []byte) ([]byte, error) {
	if len(data) < 1 || w <= 0 || h <= 0 || w > TileSize || h > TileSize {
		return nil, errBadIndexed
	}
	n := int(data[0]) + 1
	rowBytes := (w*indexDepth(n) + 7) / 8
	raw := make([]byte, 3*n+rowBytes*h+1) // one more: there must be nothing more
	src := bytes.NewReader(data[1:])
	fr, _ := inflaters.Get().(io.ReadCloser)
	if fr == nil {
		fr = flate.NewReaderDict(src, dict)
	} else if err := fr.(flate.Resetter).Reset(src, dict); err != nil {
		return nil, errBadIndexed
	}
	defer inflaters.Put(fr)
	got, err := io.ReadFull(fr, raw)
	if got != len(raw)-1 || !errors.Is(err, io.ErrUnexpectedEOF) || src.Len() != 0 {
		return nil, errBadIndexed
	}
	return raw[:got], nil
}

// palettedOf builds the w x h picture of n colours whose palette and
// indexes raw holds.
func palettedOf(raw []byte, n, w, h int) (*image.Paletted, error) {
	depth := indexDepth(n)
	rowBytes := (w*depth + 7) / 8
	if n < 1 || n > 256 || len(raw) != 3*n+rowBytes*h {
		return nil, errBadIndexed
	}
	pal := make(color.Palette, n)
	var prev [3]byte
	for i := range pal {
		c := raw[3*i:]
		prev = [3]byte{prev[0] + c[0], prev[1] + c[1], prev[2] + c[2]}
		pal[i] = color.RGBA{prev[0], prev[1], prev[2], 0xff}
	}
	packed := raw[3*n:]
	img := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	perByte, mask := 8/depth, byte(1<<depth-1)
	for y := range h {
		row := packed[y*rowBytes:][:rowBytes]
		for x := range w {
			i := row[x/perByte] >> uint(8-depth-x%perByte*depth) & mask
			if int(i) >= n {
				return nil, errBadIndexed
			}
			img.Pix[y*img.Stride+x] = i
		}
	}
	return img, nil
}
