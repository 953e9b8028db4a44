package xlab

import (
	"image"
	"image/color"
)

// Pattern draws a picture that is easy to check and hard to get right by
// accident: coloured bands, a grid of fine lines and a gradient, with seed
// shifting the colours so two patterns differ everywhere.
func Pattern(w, h int, seed uint8) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{uint8(x*255/max(1, w-1)) + seed, uint8(y*255/max(1, h-1)) ^ seed, uint8((x/16+y/16)%2*200) + seed/2, 255}
			if x%32 == 0 || y%32 == 0 {
				c = color.RGBA{seed, 255 - seed, 0, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// Fill returns a w x h image of one colour.
func Fill(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 255
	}
	return img
}

// Desktop draws a screen like a real one: flat panels, sharp "text" (dots
// and strokes in two colours) that must arrive losslessly, and a smooth
// photo area that may arrive as JPEG.
func Desktop(w, h int, seed uint8) *image.RGBA {
	img := Fill(w, h, color.RGBA{40 + seed%16, 44, 52, 255})
	rnd := uint32(seed) + 1
	next := func() uint32 { rnd = rnd*1664525 + 1013904223; return rnd >> 8 }
	// Panels with text.
	for p := 0; p < 6; p++ {
		x0, y0 := int(next()%uint32(max(1, w-200))), int(next()%uint32(max(1, h-120)))
		pw, ph := 120+int(next()%160), 60+int(next()%100)
		bg := color.RGBA{uint8(200 + next()%56), uint8(200 + next()%56), uint8(200 + next()%56), 255}
		ink := color.RGBA{uint8(next() % 60), uint8(next() % 60), uint8(next() % 90), 255}
		for y := y0; y < min(h, y0+ph); y++ {
			for x := x0; x < min(w, x0+pw); x++ {
				c := bg
				// Rows of glyph-like marks, 8 px high with 4 px leading.
				if (y-y0)%12 < 8 && (x-x0)%7 < 5 && next()%3 == 0 {
					c = ink
				}
				img.SetRGBA(x, y, c)
			}
		}
	}
	// A photo: a smooth two-axis gradient.
	pw, ph := min(256, w/3), min(192, h/3)
	x0, y0 := w-pw-8, h-ph-8
	for y := 0; y < ph; y++ {
		for x := 0; x < pw; x++ {
			img.SetRGBA(x0+x, y0+y, color.RGBA{uint8(x * 255 / pw), uint8(y * 255 / ph), uint8(128 + seed), 255})
		}
	}
	return img
}
