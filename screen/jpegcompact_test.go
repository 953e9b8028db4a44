package screen

import (
	"bytes"
	"image"
	"image/color"
	"math"
	"testing"
)

// smoothPhoto is photo-like: thousands of colours in soft gradients.
func smoothPhoto(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			fx, fy := float64(x), float64(y)
			img.SetRGBA(x, y, color.RGBA{uint8(128 + 90*math.Sin(fx/9)*math.Cos(fy/7)), uint8(128 + 80*math.Sin((fx+fy)/13)), uint8(128 + 70*math.Cos(fx/5-fy/8)), 255})
		}
	}
	return img
}

// TestACompactJPEGTileIsTheJPEGWithoutItsTables: the compact tile is
// over 500 bytes smaller, the mirror gives on exactly the bytes the
// ordinary encoder writes, and a halved tile and every quality of a slow
// link work the same.
func TestACompactJPEGTileIsTheJPEGWithoutItsTables(t *testing.T) {
	var f Frame
	_ = (&imageSource{img: smoothPhoto(128, 64)}).Capture(&f)
	for _, lvl := range motionLevels {
		plain, compact := NewEncoder(true), NewEncoder(true)
		compact.Compact = true
		for _, e := range []*Encoder{plain, compact} {
			e.Halve, e.Quality = lvl.halve, lvl.quality
		}
		want, err := plain.Encode(&f, image.Rect(64, 0, 128, 64))
		if err != nil || want.Format != FormatJPEG {
			t.Fatalf("plain tile: %v %v", want.Format, err)
		}
		got, err := compact.Encode(&f, image.Rect(64, 0, 128, 64))
		if err != nil || got.Format != FormatJPEGCompact {
			t.Fatalf("compact tile: %v %v", got.Format, err)
		}
		if len(want.Data)-len(got.Data) < 580 {
			t.Fatalf("%+v: compact %d bytes, plain %d", lvl, len(got.Data), len(want.Data))
		}
		msg, err := Decode(AppendTiles(nil, 128, 64, []Tile{got}))
		if err != nil {
			t.Fatal(err)
		}
		m := NewMirror()
		sub := m.Subscribe()
		m.Apply(msg)
		var tiles []Tile
		for _, raw := range sub.take() {
			if m, err := Decode(raw); err == nil && m.Kind == MsgTiles {
				tiles = append(tiles, m.Tiles...)
			}
		}
		if len(tiles) != 1 || tiles[0].Format != FormatJPEG || !bytes.Equal(tiles[0].Data, want.Data) {
			t.Fatalf("%+v: the mirror did not give on the plain JPEG: %d tiles", lvl, len(tiles))
		}
		sub.Close()
	}
	for _, bad := range [][]byte{{}, {80}, {0, 1}, {101, 1}, {0x80, 1}} {
		if _, err := ExpandJPEG(bad, 64, 64); err == nil {
			t.Errorf("expanded %x", bad)
		}
	}
}

// TestHalvingAveragesEachBlockOfTheFrame: a tile at half resolution is
// the mean of each 2x2 block in RGB, the odd last column and row
// averaged with themselves.
func TestHalvingAveragesEachBlockOfTheFrame(t *testing.T) {
	img := smoothPhoto(67, 33)
	var f Frame
	_ = (&imageSource{img: img}).Capture(&f)
	r := image.Rect(2, 1, 67, 33) // 65 x 32: an odd width
	half := NewEncoder(true).halved(&f, r)
	if half.Rect.Dx() != 33 || half.Rect.Dy() != 16 {
		t.Fatalf("half of 65x32 is %v", half.Rect)
	}
	for y := range 16 {
		for x := range 33 {
			x0, x1 := r.Min.X+2*x, min(r.Min.X+2*x+1, r.Max.X-1)
			y0, y1 := r.Min.Y+2*y, min(r.Min.Y+2*y+1, r.Max.Y-1)
			a, b, c, d := img.RGBAAt(x0, y0), img.RGBAAt(x1, y0), img.RGBAAt(x0, y1), img.RGBAAt(x1, y1)
			want := color.RGBA{uint8((int(a.R) + int(b.R) + int(c.R) + int(d.R) + 2) / 4), uint8((int(a.G) + int(b.G) + int(c.G) + int(d.G) + 2) / 4),
				uint8((int(a.B) + int(b.B) + int(c.B) + int(d.B) + 2) / 4), 255}
			if got := half.RGBAAt(x, y); got != want {
				t.Fatalf("(%d,%d) = %v, want %v", x, y, got, want)
			}
		}
	}
}
