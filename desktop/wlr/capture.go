//go:build linux

package wlr

import (
	"errors"
	"fmt"
	"image"
	"os"

	"github.com/vcaesar/go-wayland/client"
	"golang.org/x/sys/unix"
)

// Capture copies output i into pix as BGRX rows of 4*w bytes, growing pix
// when it is too small, and returns the picture's size.
func (c *Conn) Capture(i int, pix []byte) ([]byte, image.Point, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usable(); err != nil {
		return pix, image.Point{}, err
	}
	if c.manager == nil {
		return pix, image.Point{}, ErrNoScreencopy
	}
	if i < 0 || i >= len(c.outputs) {
		return pix, image.Point{}, fmt.Errorf("no output %d (there are %d)", i, len(c.outputs))
	}
	var size image.Point
	err := c.answered(func() (err error) {
		pix, size, err = c.capture(c.outputs[i].proxy, pix)
		return err
	})
	return pix, size, err
}

func (c *Conn) capture(out *client.Output, pix []byte) ([]byte, image.Point, error) {
	f, err := c.newFrame(out)
	if err != nil {
		return pix, image.Point{}, err
	}
	defer func() { _ = f.destroy() }()
	if err := f.copyTo(c.buf.buffer); err != nil {
		return pix, image.Point{}, c.failed(err)
	}
	return c.readFrame(f, pix)
}

// captureDamaged is capture with copy_with_damage: it returns once
// something on the output changed since this connection's last copy, with
// what changed. It may wait for ever: only closing the connection ends it.
func (c *Conn) captureDamaged(i int, pix []byte) ([]byte, image.Point, []image.Rectangle, error) {
	var f *frame
	err := c.answered(func() (err error) {
		f, err = c.newFrame(c.outputs[i].proxy)
		return err
	})
	if err != nil {
		return pix, image.Point{}, nil, err
	}
	defer func() { _ = f.destroy() }()
	if err := f.copyWithDamage(c.buf.buffer); err != nil {
		return pix, image.Point{}, nil, c.failed(err)
	}
	pix, size, err := c.readFrame(f, pix)
	return pix, size, f.damage, err
}

// newFrame asks for a frame of out and a buffer it can be copied into.
func (c *Conn) newFrame(out *client.Output) (*frame, error) {
	f, err := c.manager.captureOutput(false, out)
	if err != nil {
		return nil, c.failed(err)
	}
	// Version 3 lists every buffer type and ends with buffer_done; older
	// versions send only the shared-memory one.
	if err := c.dispatchUntil(func() bool { return f.failed || f.bufferDone || (f.haveShm && c.manager.version() < 3) }); err != nil {
		_ = f.destroy()
		return nil, err
	}
	if f.failed || !f.haveShm {
		_ = f.destroy()
		return nil, errors.New("the Wayland compositor cannot copy this output into shared memory")
	}
	if err := c.ensureBuffer(f.format, int(f.width), int(f.height), int(f.stride)); err != nil {
		_ = f.destroy()
		return nil, err
	}
	return f, nil
}

// readFrame waits until the copy is done and reads it into pix.
func (c *Conn) readFrame(f *frame, pix []byte) ([]byte, image.Point, error) {
	if err := c.dispatchUntil(func() bool { return f.ready || f.failed }); err != nil {
		return pix, image.Point{}, err
	}
	if f.failed {
		return pix, image.Point{}, errors.New("the Wayland compositor failed to copy the output")
	}
	w, h := int(f.width), int(f.height)
	if need := 4 * w * h; cap(pix) < need {
		pix = make([]byte, need)
	} else {
		pix = pix[:need]
	}
	c.buf.read(pix, f.yInvert)
	return pix, image.Pt(w, h), nil
}

// shm formats the capture reads. XRGB and ARGB are B, G, R, X in memory on
// a little-endian machine: the frame's order, copied as is.
const (
	shmARGB8888 = 0
	shmXRGB8888 = 1
	shmABGR8888 = 0x34324241 // R, G, B, A in memory
	shmXBGR8888 = 0x34324258
)

// shmBuffer is a wl_buffer over a memfd that both sides keep mapped.
type shmBuffer struct {
	format                uint32
	width, height, stride int
	data                  []byte
	pool                  *client.ShmPool
	buffer                *client.Buffer
}

// ensureBuffer makes the shared buffer match what the compositor asked
// for, keeping the current one when it does.
func (c *Conn) ensureBuffer(format uint32, w, h, stride int) error {
	switch format {
	case shmARGB8888, shmXRGB8888, shmABGR8888, shmXBGR8888:
	default:
		return fmt.Errorf("the Wayland compositor offers pixel format %#x, which assist does not read", format)
	}
	if w <= 0 || h <= 0 || stride < 4*w || stride*h > 1<<30 {
		return fmt.Errorf("the Wayland compositor asks for a %dx%d buffer with rows of %d bytes", w, h, stride)
	}
	if b := c.buf; b != nil && b.format == format && b.width == w && b.height == h && b.stride == stride {
		return nil
	}
	if c.buf != nil {
		_ = c.buf.buffer.Destroy()
		_ = c.buf.pool.Destroy()
		c.buf.unmap()
		c.buf = nil
	}
	b, err := c.newBuffer(format, w, h, stride)
	if err != nil {
		return err
	}
	c.buf = b
	return nil
}

func (c *Conn) newBuffer(format uint32, w, h, stride int) (*shmBuffer, error) {
	size := stride * h
	fd, err := unix.MemfdCreate("assist-screencopy", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("shared memory for the capture: %w", err)
	}
	file := os.NewFile(uintptr(fd), "assist-screencopy")
	defer file.Close() // the pool and the mapping hold their own references
	if err := file.Truncate(int64(size)); err != nil {
		return nil, fmt.Errorf("shared memory for the capture: %w", err)
	}
	data, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map the capture's shared memory: %w", err)
	}
	b := &shmBuffer{format: format, width: w, height: h, stride: stride, data: data}
	if b.pool, err = c.shm.CreatePool(fd, int32(size)); err != nil {
		b.unmap()
		return nil, c.failed(err)
	}
	if b.buffer, err = b.pool.CreateBuffer(0, int32(w), int32(h), int32(stride), format); err != nil {
		b.unmap()
		return nil, c.failed(err)
	}
	return b, nil
}

// read copies the buffer into dst as BGRX rows, top row first.
func (b *shmBuffer) read(dst []byte, yInvert bool) {
	row := 4 * b.width
	swap := b.format == shmABGR8888 || b.format == shmXBGR8888
	for y := range b.height {
		src := y
		if yInvert {
			src = b.height - 1 - y
		}
		out := dst[y*row : (y+1)*row]
		copy(out, b.data[src*b.stride:src*b.stride+row])
		if swap {
			for i := 0; i < row; i += 4 {
				out[i], out[i+2] = out[i+2], out[i]
			}
		}
	}
}

func (b *shmBuffer) unmap() {
	if b.data != nil {
		_ = unix.Munmap(b.data)
		b.data = nil
	}
}
