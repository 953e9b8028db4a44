package screen

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"runtime"
	"slices"
	"sync"
)

// Format is how a tile's bytes are encoded; both decode natively in every
// browser.
type Format byte

const (
	// FormatPNG is lossless: text and UI stay sharp.
	FormatPNG Format = 1
	// FormatJPEG is for photo-like tiles, where PNG would be several times
	// larger and the eye does not see the loss.
	FormatJPEG Format = 2
)

// MIME returns the format's media type for the browser.
func (f Format) MIME() string {
	if f == FormatJPEG {
		return "image/jpeg"
	}
	return "image/png"
}

// Tile is an encoded rectangle of the screen.
type Tile struct {
	X, Y, W, H int
	Format     Format
	Data       []byte
	// raw is what a FormatIndexedDict tile adds to its stream's history.
	raw []byte
}

// photoColors is the number of distinct colours above which a tile may be
// a photo. Text with anti-aliasing stays well below it.
const photoColors = 512

// photoLimit is photoColors for a patch of n pixels: an eighth of them,
// as for a whole tile, so the strips a pan brings into view (8 or 4
// pixels across) go as JPEG too. A patch of few pixels stays lossless.
func photoLimit(n int) int { return max(32, min(photoColors, n/8)) }

// A tile of more colours than photoColors is still no photo when one
// colour fills at least one pixel in mixedShare as runs (each pixel equal
// to its left neighbour): a terminal's or a window's background next to a
// photo, under text. A photo, even a smooth gradient whose neighbours are
// often equal, spreads its runs over many colours. Such a mixed tile goes
// lossless, so letters never ring.
const mixedShare = 4

// runBuckets is the size of the table that counts runs per colour: a
// direct-mapped hash, where a collision only overstates a count.
const runBuckets = 4096

// JPEGQuality is used for photo tiles.
const JPEGQuality = 80

// flushless is a buffer image/jpeg writes to directly: given a plain
// io.Writer, it wraps it in a new 4 KB bufio.Writer for every tile.
type flushless struct{ *bytes.Buffer }

func (flushless) Flush() error { return nil }

type pngPool struct{ b *png.EncoderBuffer }

func (p *pngPool) Get() *png.EncoderBuffer  { b := p.b; p.b = nil; return b }
func (p *pngPool) Put(b *png.EncoderBuffer) { p.b = b }

// Encoder encodes tiles, reusing buffers between frames. One Encoder per
// worker; it is not safe for concurrent use.
type Encoder struct {
	png png.Encoder
	// colors maps each colour of the tile to its palette index, up to
	// photoColors+1 colours (past 256 the indexes are unused).
	colors colorTable
	buf    bytes.Buffer
	rgba   image.RGBA
	half   image.RGBA
	pal    image.Paletted
	// palColors holds the colours pal's palette points to.
	palColors [256]color.RGBA
	runs      [runBuckets]uint16
	Lossy     bool // allow JPEG for photo-like tiles
	// Halve sends photo-like tiles at half their resolution (a quarter of
	// the pixels to encode and send): for a screen in full motion, where
	// the eye does not see it; the refinement once still restores them.
	Halve bool
	// Quality is the JPEG quality of photo tiles (0: JPEGQuality); a slow
	// link lowers it while the screen moves.
	Quality int
	// Compact leaves the tables out of JPEG tiles (FormatJPEGCompact),
	// for a receiver that puts them back.
	Compact bool
	compact []byte
	// Indexed sends tiles of few colours without PNG's chunks
	// (FormatIndexed), for a receiver that puts them back.
	Indexed bool
	indexed indexedEncoder
	// dictOn compresses small indexed tiles against dict, the stream's
	// history (FormatIndexedDict), while useDict: in frames of few tiles.
	dictOn  bool
	dict    []byte
	useDict bool
	// arena holds the tiles' bytes once recycled is set: a sender has
	// written a frame's tiles before it encodes the next, so their bytes
	// need not be allocated anew each frame. The host's mirror keeps its
	// tiles, and gets bytes of their own.
	arena    []byte
	recycled bool
}

// own returns a copy of b that outlives the encoder's buffers.
func (e *Encoder) own(b []byte) []byte {
	if !e.recycled {
		return bytes.Clone(b)
	}
	start := len(e.arena)
	e.arena = append(e.arena, b...)
	return e.arena[start:len(e.arena):len(e.arena)]
}

// NewEncoder returns an encoder; lossy allows JPEG for photo tiles.
func NewEncoder(lossy bool) *Encoder {
	return &Encoder{
		png:   png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &pngPool{}},
		Lossy: lossy,
	}
}

// tileKind is how a tile is best encoded.
type tileKind int

const (
	paletted  tileKind = iota // at most 256 colours: an indexed PNG, 1–8 bits a pixel
	truecolor                 // lossless RGB PNG
	photo                     // JPEG, when lossy is allowed
)

// Encode encodes region r of f.
func (e *Encoder) Encode(f *Frame, r image.Rectangle) (Tile, error) {
	t := Tile{X: r.Min.X, Y: r.Min.Y, W: r.Dx(), H: r.Dy(), Format: FormatPNG}
	e.buf.Reset()
	var err error
	switch e.classify(f, r) {
	case paletted:
		if e.Indexed && e.useDict && indexedSize(len(e.pal.Palette), r.Dx(), r.Dy()) < smallIndexed {
			data, raw, err := e.indexed.encodeDict(&e.pal, e.dict)
			if err != nil {
				return Tile{}, err
			}
			t.Format, t.Data, t.raw = FormatIndexedDict, e.own(data), e.own(raw)
			return t, nil
		}
		if e.Indexed {
			data, err := e.indexed.encode(&e.pal)
			if err != nil {
				return Tile{}, err
			}
			t.Format, t.Data = FormatIndexed, e.own(data)
			return t, nil
		}
		err = e.png.Encode(&e.buf, &e.pal)
	case photo:
		if e.Lossy {
			t.Format = FormatJPEG
			var img *image.RGBA
			if e.Halve {
				img = e.halved(f, r)
			} else {
				img = e.toRGBA(f, r)
			}
			q := e.Quality
			if q <= 0 {
				q = JPEGQuality
			}
			err = jpeg.Encode(flushless{&e.buf}, img, &jpeg.Options{Quality: q})
			if err == nil && e.Compact {
				b := img.Bounds()
				if out, ok := compactJPEG(e.compact, e.buf.Bytes(), q, b.Dx(), b.Dy(), e.Halve); ok {
					e.compact = out
					t.Format = FormatJPEGCompact
					t.Data = e.own(out)
					return t, nil
				}
			}
			break
		}
		fallthrough
	default:
		err = e.png.Encode(&e.buf, e.toRGBA(f, r))
	}
	if err != nil {
		return Tile{}, err
	}
	t.Data = e.own(e.buf.Bytes())
	return t, nil
}

// classify looks at every pixel of r once: it counts the colours (up to
// photoColors+1) and the pixels equal to their left neighbour per colour,
// and builds the indexed picture while there are at most 256 colours.
func (e *Encoder) classify(f *Frame, r image.Rectangle) tileKind {
	e.colors.reset()
	w, h := r.Dx(), r.Dy()
	e.pal.Rect, e.pal.Stride = image.Rect(0, 0, w, h), w
	e.pal.Pix = slices.Grow(e.pal.Pix[:0], w*h)[:w*h]
	e.pal.Palette = e.pal.Palette[:0]
	stride := f.Stride()
	clear(e.runs[:])
	maxRun, many := uint16(0), false
	for y := range h {
		row := f.Pix[(r.Min.Y+y)*stride+4*r.Min.X:][:4*w]
		prev := uint32(1 << 31) // no colour: the row's first pixel has no neighbour
		for x := range w {
			c := uint32(row[4*x])<<16 | uint32(row[4*x+1])<<8 | uint32(row[4*x+2]) // BGR
			if c == prev {
				b := &e.runs[(c*0x9e3779b1)>>20]
				*b++
				maxRun = max(maxRun, *b)
				if !many { // the left neighbour's index, without a lookup
					e.pal.Pix[y*w+x] = e.pal.Pix[y*w+x-1]
				}
				continue
			}
			prev = c
			if many {
				if e.colors.n <= photoColors {
					e.colors.index(c)
				}
				continue
			}
			i, added := e.colors.index(c)
			if e.colors.n > 256 {
				many = true
				continue
			}
			if added {
				// A pointer into the encoder's own array: a color.RGBA put in
				// the palette's interface is allocated, each time.
				rgba := &e.palColors[i]
				*rgba = color.RGBA{uint8(c), uint8(c >> 8), uint8(c >> 16), 0xff}
				e.pal.Palette = append(e.pal.Palette, rgba)
			}
			e.pal.Pix[y*w+x] = uint8(i)
		}
	}
	switch {
	case e.colors.n > photoLimit(w*h) && int(maxRun)*mixedShare < w*h:
		return photo
	case !many:
		return paletted
	}
	return truecolor
}

// colorTable numbers the distinct colours of a tile in the order they
// come: an open-addressing hash table, emptied in O(1) by a generation
// count. It replaced two Go maps, whose hashing took a fifth of the time
// of encoding a screen of photos.
type colorTable struct {
	keys [colorSlots]uint32
	vals [colorSlots]uint16
	gens [colorSlots]uint32
	gen  uint32
	n    int // colours held
}

// colorSlots keeps the table under a quarter full at photoColors+1.
const colorSlots = 2048

func (t *colorTable) reset() {
	t.gen++
	t.n = 0
	if t.gen == 0 { // wrapped: old stamps could look current
		clear(t.gens[:])
		t.gen = 1
	}
}

// index returns c's number, numbering it next if it is new.
func (t *colorTable) index(c uint32) (i int, added bool) {
	h := (c * 0x9e3779b1) >> (32 - 11)
	for {
		if t.gens[h] != t.gen {
			t.gens[h], t.keys[h], t.vals[h] = t.gen, c, uint16(t.n)
			t.n++
			return t.n - 1, true
		}
		if t.keys[h] == c {
			return int(t.vals[h]), false
		}
		h = (h + 1) & (colorSlots - 1)
	}
}

// toRGBA converts region r of f into the encoder's RGBA buffer.
func (e *Encoder) toRGBA(f *Frame, r image.Rectangle) *image.RGBA {
	w, h := r.Dx(), r.Dy()
	e.rgba.Rect, e.rgba.Stride = image.Rect(0, 0, w, h), 4*w
	e.rgba.Pix = slices.Grow(e.rgba.Pix[:0], 4*w*h)[:4*w*h]
	stride := f.Stride()
	for y := range h {
		src := f.Pix[(r.Min.Y+y)*stride+4*r.Min.X:][:4*w]
		dst := e.rgba.Pix[y*4*w:][:4*w]
		for i := 0; i < len(src); i += 4 {
			dst[i], dst[i+1], dst[i+2], dst[i+3] = src[i+2], src[i+1], src[i], 0xff
		}
	}
	return &e.rgba
}

// halved averages each 2x2 block of region r of f (BGRA) into the
// encoder's half buffer (RGBA), in one pass over the frame.
func (e *Encoder) halved(f *Frame, r image.Rectangle) *image.RGBA {
	w, h := r.Dx(), r.Dy()
	hw, hh := (w+1)/2, (h+1)/2
	e.half.Rect, e.half.Stride = image.Rect(0, 0, hw, hh), 4*hw
	e.half.Pix = slices.Grow(e.half.Pix[:0], 4*hw*hh)[:4*hw*hh]
	stride := f.Stride()
	for y := range hh {
		top := f.Pix[(r.Min.Y+2*y)*stride+4*r.Min.X:][:4*w]
		bottom := f.Pix[(r.Min.Y+min(2*y+1, h-1))*stride+4*r.Min.X:][:4*w]
		dst := e.half.Pix[y*e.half.Stride:][:4*hw]
		for x := range hw {
			a, b := 8*x, 4*min(2*x+1, w-1)
			o := 4 * x
			for k := range 3 { // BGR in, RGB out
				sum := int(top[a+k]) + int(top[b+k]) + int(bottom[a+k]) + int(bottom[b+k])
				dst[o+2-k] = uint8((sum + 2) / 4)
			}
			dst[o+3] = 0xff
		}
	}
	return &e.half
}

// ParallelEncoder spreads tiles over one encoder per CPU: the first
// encodes on the caller's goroutine, each other on a goroutine of its
// own, started at the first frame of several tiles and ended by Close.
type ParallelEncoder struct {
	encoders []*Encoder
	tiles    []Tile // the last Encode's, reused
	errs     []error
	// The frame being encoded, for the workers.
	frame   *Frame
	rects   []image.Rectangle
	start   []chan struct{} // per encoder after the first: encode your share
	working sync.WaitGroup
}

// NewParallelEncoder makes one encoder per CPU.
func NewParallelEncoder(lossy bool) *ParallelEncoder {
	p := &ParallelEncoder{}
	for range runtime.GOMAXPROCS(0) {
		p.encoders = append(p.encoders, NewEncoder(lossy))
	}
	return p
}

// SetHalve sets every encoder's Halve.
func (p *ParallelEncoder) SetHalve(on bool) {
	for _, e := range p.encoders {
		e.Halve = on
	}
}

// SetCompact sets every encoder's Compact.
func (p *ParallelEncoder) SetCompact(on bool) {
	for _, e := range p.encoders {
		e.Compact = on
	}
}

// SetIndexed sets every encoder's Indexed.
func (p *ParallelEncoder) SetIndexed(on bool) {
	for _, e := range p.encoders {
		e.Indexed = on
	}
}

// SetDictionary makes every encoder compress small indexed tiles against
// dict, a stream's history, until the next call (FormatIndexedDict).
func (p *ParallelEncoder) SetDictionary(dict []byte) {
	for _, e := range p.encoders {
		e.dictOn, e.dict = true, dict
	}
}

// startWorkers starts a goroutine for each encoder after the first.
func (p *ParallelEncoder) startWorkers() {
	p.start = make([]chan struct{}, len(p.encoders)-1)
	for i := range p.start {
		c := make(chan struct{})
		p.start[i] = c
		go func() {
			for range c {
				p.encodeShare(i + 1)
				p.working.Done()
			}
		}()
	}
}

// encodeShare encodes encoder w's share of the frame: every len(encoders)th
// rectangle from the wth.
func (p *ParallelEncoder) encodeShare(w int) {
	enc := p.encoders[w]
	for i := w; i < len(p.rects); i += len(p.encoders) {
		t, err := enc.Encode(p.frame, p.rects[i])
		if err != nil {
			p.errs[w] = err
			return
		}
		p.tiles[i] = t
	}
}

// Recycle says that the tiles of every Encode before are no longer used:
// the encoders reuse their bytes from now on, a frame's worth at a time.
// A sender calls it before each frame.
func (p *ParallelEncoder) Recycle() {
	for _, e := range p.encoders {
		e.arena, e.recycled = e.arena[:0], true
	}
}

// Close ends the encoder's goroutines.
func (p *ParallelEncoder) Close() {
	for _, c := range p.start {
		close(c)
	}
	p.start = nil
}

// dictTiles is the most tiles a frame has for its small indexed tiles
// to be compressed against the history: a typed letter's frame is one or
// two tiles, a scrolling terminal's dozens, where loading the history
// into the compressor for each took an eighth of the sender's time and
// saved no bytes (new lines are not in it).
const dictTiles = 8

// Lossy reports whether tiles of format f lose detail.
func (f Format) Lossy() bool { return f == FormatJPEG || f == FormatJPEGCompact }

// SetQuality sets every encoder's JPEG quality.
func (p *ParallelEncoder) SetQuality(q int) {
	for _, e := range p.encoders {
		e.Quality = q
	}
}

// Encode encodes every rectangle; the result keeps the input order and
// is valid until the next call (the tiles' bytes stay valid).
func (p *ParallelEncoder) Encode(f *Frame, rects []image.Rectangle) ([]Tile, error) {
	p.tiles = slices.Grow(p.tiles[:0], len(rects))[:len(rects)]
	for _, e := range p.encoders {
		e.useDict = e.dictOn && len(rects) <= dictTiles
	}
	if len(rects) <= 1 { // a typed letter: no goroutine to wake
		for i, r := range rects {
			t, err := p.encoders[0].Encode(f, r)
			if err != nil {
				return nil, err
			}
			p.tiles[i] = t
		}
		return p.tiles, nil
	}
	p.errs = slices.Grow(p.errs[:0], len(p.encoders))[:len(p.encoders)]
	clear(p.errs)
	if p.start == nil {
		p.startWorkers()
	}
	p.frame, p.rects = f, rects
	p.working.Add(len(p.start))
	for _, c := range p.start {
		c <- struct{}{}
	}
	p.encodeShare(0)
	p.working.Wait()
	p.frame, p.rects = nil, nil
	for _, err := range p.errs {
		if err != nil {
			return nil, err
		}
	}
	return p.tiles, nil
}
