package screen

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // a browser's pictures come as JPEG or PNG
	_ "image/png"
	"sync"
)

// A shared picture is at most this large: per side, in pixels (an 8K
// screen) and in bytes (a 4K screen as PNG is well under it).
const (
	MaxPictureSide   = 8192
	MaxPicturePixels = 7680 * 4320
	MaxPictureBytes  = 32 << 20
)

// ErrNoPicture: a PictureSource was captured before its first picture.
var ErrNoPicture = errors.New("no picture yet")

// DecodePicture decodes a PNG or JPEG picture, refusing one whose header
// claims more pixels than a screen has before decoding it.
func DecodePicture(b []byte) (*image.RGBA, error) {
	if len(b) > MaxPictureBytes {
		return nil, fmt.Errorf("picture of %d bytes is over the limit of %d", len(b), MaxPictureBytes)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("picture: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > MaxPictureSide || cfg.Height > MaxPictureSide || cfg.Width*cfg.Height > MaxPicturePixels {
		return nil, fmt.Errorf("picture of %dx%d: larger than a screen (sides up to %d, %d pixels)", cfg.Width, cfg.Height, MaxPictureSide, MaxPicturePixels)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("picture: %w", err)
	}
	if rgba, ok := img.(*image.RGBA); ok && rgba.Rect.Min == (image.Point{}) {
		return rgba, nil
	}
	rgba := image.NewRGBA(image.Rect(0, 0, img.Bounds().Dx(), img.Bounds().Dy()))
	draw.Draw(rgba, rgba.Rect, img, img.Bounds().Min, draw.Src)
	return rgba, nil
}

// PictureSource is a Source whose pictures come from elsewhere: the
// frames a browser captures of a screen it shares. Capture returns the
// newest; the Sender sends only what changed between them.
type PictureSource struct {
	mu  sync.Mutex
	img *image.RGBA
}

// Put makes img the picture Capture returns.
func (p *PictureSource) Put(img *image.RGBA) {
	p.mu.Lock()
	p.img = img
	p.mu.Unlock()
}

// Capture copies the newest picture into f in its BGRX layout.
func (p *PictureSource) Capture(f *Frame) error {
	p.mu.Lock()
	img := p.img
	p.mu.Unlock()
	if img == nil {
		return ErrNoPicture
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if f.W != w || f.H != h {
		*f = *NewFrame(w, h)
	}
	for y := range h {
		src := img.Pix[y*img.Stride : y*img.Stride+4*w]
		dst := f.Pix[y*f.Stride():]
		for i := 0; i < len(src); i += 4 {
			dst[i], dst[i+1], dst[i+2], dst[i+3] = src[i+2], src[i+1], src[i], 0
		}
	}
	return nil
}
