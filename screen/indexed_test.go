package screen

import (
	"bytes"
	"compress/flate"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"testing"
)

// fewColours is a w x h picture of n colours in random places.
func fewColours(w, h, n int, seed uint64) *image.Paletted {
	r := rand.New(rand.NewPCG(seed, 3))
	pal := make(color.Palette, n)
	for i := range pal {
		pal[i] = color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
	}
	img := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	for i := range img.Pix {
		img.Pix[i] = uint8(r.IntN(n))
	}
	return img
}

// TestAnIndexedTileIsThePNGWithoutItsChunks: every palette size (each
// bit depth and its edges) and tile shape comes back pixel for pixel,
// and a typed character's patch is over 60 bytes smaller than its PNG.
func TestAnIndexedTileIsThePNGWithoutItsChunks(t *testing.T) {
	var enc indexedEncoder
	for _, n := range []int{1, 2, 3, 4, 5, 16, 17, 255, 256} {
		for _, size := range []image.Point{{1, 1}, {7, 3}, {9, 13}, {63, 5}, {64, 64}} {
			img := fewColours(size.X, size.Y, n, uint64(n*100+size.X))
			data, err := enc.encode(img)
			if err != nil {
				t.Fatal(err)
			}
			out, err := ExpandIndexed(bytes.Clone(data), size.X, size.Y)
			if err != nil {
				t.Fatalf("%d colours, %v: %v", n, size, err)
			}
			got, err := png.Decode(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			for y := range size.Y {
				for x := range size.X {
					if w, g := color.RGBAModel.Convert(img.At(x, y)), color.RGBAModel.Convert(got.At(x, y)); w != g {
						t.Fatalf("%d colours, %v: pixel %d,%d is %v, want %v", n, size, x, y, g, w)
					}
				}
			}
		}
	}
	// A glyph and the cursor beside it: a patch of a few colours.
	glyph := fewColours(16, 14, 2, 9)
	for i := range glyph.Pix {
		glyph.Pix[i] = 0
	}
	for y := 2; y < 12; y++ {
		glyph.Pix[y*16+2+y%3], glyph.Pix[y*16+6] = 1, 1
	}
	var pngBuf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&pngBuf, glyph); err != nil {
		t.Fatal(err)
	}
	data, _ := enc.encode(glyph)
	if len(data)+60 > pngBuf.Len() {
		t.Fatalf("indexed %d bytes, PNG %d: want over 60 fewer", len(data), pngBuf.Len())
	}
	t.Logf("a glyph's patch: indexed %d bytes, PNG %d", len(data), pngBuf.Len())
}

func TestExpandIndexedRefusesWhatIsNotATile(t *testing.T) {
	var enc indexedEncoder
	good, _ := enc.encode(fewColours(8, 8, 3, 1))
	good = bytes.Clone(good)
	for name, c := range map[string]struct {
		data []byte
		w, h int
	}{
		"empty":                     {nil, 8, 8},
		"a palette cut short":       {good[:5], 8, 8},
		"larger than the tile":      {good, 8, 9},
		"smaller than the tile":     {good, 8, 7},
		"bytes after the stream":    {append(bytes.Clone(good), 0), 8, 8},
		"larger than a square":      {good, TileSize + 1, 1},
		"an index past the palette": {pastPalette(t), 8, 8},
	} {
		if _, err := ExpandIndexed(c.data, c.w, c.h); err == nil {
			t.Errorf("%s: expanded", name)
		}
	}
}

func FuzzExpandIndexed(f *testing.F) {
	var enc indexedEncoder
	for _, n := range []int{1, 2, 5, 200} {
		d, _ := enc.encode(fewColours(9, 5, n, uint64(n)))
		f.Add(bytes.Clone(d), 9, 5)
	}
	f.Fuzz(func(t *testing.T, data []byte, w, h int) {
		out, err := ExpandIndexed(data, w, h)
		if err != nil {
			return
		}
		img, err := png.Decode(bytes.NewReader(out))
		if err != nil || img.Bounds().Dx() != w || img.Bounds().Dy() != h {
			t.Fatalf("expanded into a %v PNG (%v), want %dx%d", img.Bounds(), err, w, h)
		}
	})
}

func BenchmarkExpandIndexed(b *testing.B) {
	var enc indexedEncoder
	data, _ := enc.encode(fewColours(64, 64, 12, 1))
	data = bytes.Clone(data)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ExpandIndexed(data, 64, 64); err != nil {
			b.Fatal(err)
		}
	}
}

// pastPalette is an 8x8 indexed tile of three colours (2 bits a pixel)
// whose first pixel is colour 3.
func pastPalette(t *testing.T) []byte {
	raw := make([]byte, 3*3+2*8)
	raw[9] = 0xc0
	var buf bytes.Buffer
	buf.WriteByte(2)
	fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
	if _, err := fw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
