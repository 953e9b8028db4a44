package screen

import (
	"bytes"
	"image"
	"image/png"
	"testing"

	"assist/internal/xlab"
)

// TestPictureSourceFeedsTheSenderExactly: a PNG picture (what a sharing
// browser sends) comes out of the Sender and a Mirror pixel for pixel.
func TestPictureSourceFeedsTheSenderExactly(t *testing.T) {
	want := xlab.Pattern(200, 150, 9)
	var buf bytes.Buffer
	if err := png.Encode(&buf, want); err != nil {
		t.Fatal(err)
	}
	img, err := DecodePicture(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var src PictureSource
	var f Frame
	if err := src.Capture(&f); err != ErrNoPicture {
		t.Fatalf("capture before the first picture: %v", err)
	}
	src.Put(img)
	if err := src.Capture(&f); err != nil {
		t.Fatal(err)
	}
	if got := f.RGBA(image.Rect(0, 0, f.W, f.H)); diffPixels(want, got, 0) != 0 {
		t.Fatal("the captured frame differs from the picture")
	}
}

func TestDecodePictureRefusesHugeAndBrokenPictures(t *testing.T) {
	var buf bytes.Buffer
	// A PNG header claiming 100000 x 1 pixels: refused before decoding.
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 100000, 1))); err != nil {
		t.Fatal(err)
	}
	if _, err := DecodePicture(buf.Bytes()); err == nil {
		t.Fatal("a 100000-pixel-wide picture was accepted")
	}
	if _, err := DecodePicture([]byte("not a picture")); err == nil {
		t.Fatal("garbage was accepted")
	}
}

func FuzzDecodePicture(f *testing.F) {
	var buf bytes.Buffer
	_ = png.Encode(&buf, xlab.Pattern(16, 16, 1))
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := DecodePicture(b)
		if err == nil && (img.Rect.Dx() > MaxPictureSide || img.Rect.Dy() > MaxPictureSide) {
			t.Fatalf("accepted a %v picture", img.Rect)
		}
	})
}
