package screen

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"runtime"
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
}

// photoColors is the number of distinct colours above which a tile is
// treated as a photo. Text with anti-aliasing stays well below it.
const photoColors = 512

// JPEGQuality is used for photo tiles.
const JPEGQuality = 80

type pngPool struct{ b *png.EncoderBuffer }

func (p *pngPool) Get() *png.EncoderBuffer  { b := p.b; p.b = nil; return b }
func (p *pngPool) Put(b *png.EncoderBuffer) { p.b = b }

// Encoder encodes tiles, reusing buffers between frames. One Encoder per
// worker; it is not safe for concurrent use.
type Encoder struct {
	png   png.Encoder
	seen  map[uint32]struct{}
	buf   bytes.Buffer
	Lossy bool // allow JPEG for photo-like tiles
}

// NewEncoder returns an encoder; lossy allows JPEG for photo tiles.
func NewEncoder(lossy bool) *Encoder {
	return &Encoder{
		png:   png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &pngPool{}},
		seen:  make(map[uint32]struct{}, photoColors+1),
		Lossy: lossy,
	}
}

// Encode encodes region r of f.
func (e *Encoder) Encode(f *Frame, r image.Rectangle) (Tile, error) {
	img := f.RGBA(r)
	t := Tile{X: r.Min.X, Y: r.Min.Y, W: r.Dx(), H: r.Dy(), Format: FormatPNG}
	e.buf.Reset()
	var err error
	if e.Lossy && e.isPhoto(img) {
		t.Format = FormatJPEG
		err = jpeg.Encode(&e.buf, img, &jpeg.Options{Quality: JPEGQuality})
	} else {
		err = e.png.Encode(&e.buf, img)
	}
	if err != nil {
		return Tile{}, err
	}
	t.Data = append([]byte(nil), e.buf.Bytes()...)
	return t, nil
}

func (e *Encoder) isPhoto(img *image.RGBA) bool {
	clear(e.seen)
	for i := 0; i+3 < len(img.Pix); i += 4 {
		c := uint32(img.Pix[i])<<16 | uint32(img.Pix[i+1])<<8 | uint32(img.Pix[i+2])
		e.seen[c] = struct{}{}
		if len(e.seen) > photoColors {
			return true
		}
	}
	return false
}

// ParallelEncoder spreads tiles over one encoder per CPU.
type ParallelEncoder struct {
	encoders []*Encoder
}

// NewParallelEncoder makes one encoder per CPU.
func NewParallelEncoder(lossy bool) *ParallelEncoder {
	p := &ParallelEncoder{}
	for range runtime.GOMAXPROCS(0) {
		p.encoders = append(p.encoders, NewEncoder(lossy))
	}
	return p
}

// Encode encodes every rectangle; the result keeps the input order.
func (p *ParallelEncoder) Encode(f *Frame, rects []image.Rectangle) ([]Tile, error) {
	tiles := make([]Tile, len(rects))
	errs := make([]error, len(p.encoders))
	var wg sync.WaitGroup
	for w, enc := range p.encoders {
		wg.Go(func() {
			for i := w; i < len(rects); i += len(p.encoders) {
				t, err := enc.Encode(f, rects[i])
				if err != nil {
					errs[w] = err
					return
				}
				tiles[i] = t
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return tiles, nil
}
