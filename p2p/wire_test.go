package p2p

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	for _, body := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("a"), 300)} {
		if err := WriteFrame(&buf, body); err != nil {
			t.Fatal(err)
		}
	}
	r := bufio.NewReader(&buf)
	for _, want := range []int{0, 1, 300} {
		got, err := ReadFrame(r, 1024)
		if err != nil || len(got) != want {
			t.Fatalf("ReadFrame = %d bytes, %v; want %d", len(got), err, want)
		}
	}
	if _, err := ReadFrame(r, 1024); !errors.Is(err, io.EOF) {
		t.Fatalf("at end: %v, want EOF", err)
	}
}

func TestFrameTooLargeIsRefusedBeforeReading(t *testing.T) {
	var buf bytes.Buffer
	// Declares 1 GiB but sends nothing: must fail at once, not allocate.
	buf.Write([]byte{0x80, 0x80, 0x80, 0x80, 0x04})
	_, err := ReadFrame(bufio.NewReader(&buf), 4096)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestFrameTruncated(t *testing.T) {
	var buf bytes.Buffer
	buf.Write([]byte{10, 'a', 'b'})
	if _, err := ReadFrame(bufio.NewReader(&buf), 4096); err == nil {
		t.Fatal("truncated frame accepted")
	}
}

func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{3, 'a', 'b', 'c'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for {
			b, err := ReadFrame(r, 64)
			if err != nil {
				return
			}
			if len(b) > 64 {
				t.Fatalf("frame of %d bytes above limit", len(b))
			}
		}
	})
}
