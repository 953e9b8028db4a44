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
