//go:build linux

package wlr

import (
	"image"

	"github.com/vcaesar/go-wayland/client"
)

// The wlr-screencopy-unstable-v1 protocol (version 3), written out by hand
// from its XML: go-wayland ships no binding for it, and robotgo's copy
// numbers buffer_done as event 5, where the protocol has linux_dmabuf,
// so it never sees a version-3 compositor's buffer_done and waits forever.
const (
	managerInterface = "zwlr_screencopy_manager_v1"
	managerVersion   = 3
)

// manager is zwlr_screencopy_manager_v1. It sends no events.
type manager struct {
	client.BaseProxy
	ver uint32 // the version bound
}

func (m *manager) version() uint32 { return m.ver }

func (m *manager) Dispatch(uint32, int, []byte) {}

// captureOutput asks for the next frame of an output (request 0).
func (m *manager) captureOutput(overlayCursor bool, out *client.Output) (*frame, error) {
	f := &frame{}
	m.Context().Register(f)
	cursor := uint32(0)
	if overlayCursor {
		cursor = 1
	}
	return f, m.Context().WriteMsg(message(m.ID(), 0, f.ID(), cursor, out.ID()), nil)
}

// frame is zwlr_screencopy_frame_v1: the compositor describes the buffer
// it wants, the client provides one, and the compositor fills it.
type frame struct {
	client.BaseProxy

	format, width, height, stride uint32
	haveShm                       bool // a wl_shm buffer was offered
	yInvert                       bool
	bufferDone                    bool // version 3: all buffer types told
	ready, failed                 bool
	damage                        []image.Rectangle // with copy_with_damage: what changed
}

// Frame events.
const (
	evBuffer      = 0
	evFlags       = 1
	evReady       = 2
	evFailed      = 3
	evDamage      = 4
	evLinuxDmabuf = 5
	evBufferDone  = 6
)

const flagYInvert = 1

func (f *frame) Dispatch(opcode uint32, _ int, data []byte) {
	switch opcode {
	case evBuffer:
		if len(data) >= 16 {
			f.format, f.width, f.height, f.stride = client.Uint32(data[0:4]), client.Uint32(data[4:8]), client.Uint32(data[8:12]), client.Uint32(data[12:16])
			f.haveShm = true
		}
	case evFlags:
		if len(data) >= 4 {
			f.yInvert = client.Uint32(data[0:4])&flagYInvert != 0
		}
	case evReady:
		f.ready = true
	case evFailed:
		f.failed = true
	case evBufferDone:
		f.bufferDone = true
	case evDamage:
		if len(data) >= 16 && len(f.damage) < maxDamageRects {
			x, y := int(client.Uint32(data[0:4])), int(client.Uint32(data[4:8]))
			f.damage = append(f.damage, image.Rect(x, y, x+int(client.Uint32(data[8:12])), y+int(client.Uint32(data[12:16]))))
		}
	case evLinuxDmabuf:
		// Shared memory is what is read.
	}
}

// maxDamageRects bounds the damage kept per frame; past it, the frame's
// whole output counts as damaged.
const maxDamageRects = 256

// copyTo asks the compositor to fill buf (request 0).
func (f *frame) copyTo(buf *client.Buffer) error {
	return f.Context().WriteMsg(message(f.ID(), 0, buf.ID()), nil)
}

// copyWithDamage asks the compositor to fill buf once something on the
// output changed since this client's last copy (request 2, version 2).
func (f *frame) copyWithDamage(buf *client.Buffer) error {
	return f.Context().WriteMsg(message(f.ID(), 2, buf.ID()), nil)
}

// destroy lets the frame go (request 1).
func (f *frame) destroy() error {
	defer f.Context().Unregister(f)
	return f.Context().WriteMsg(message(f.ID(), 1), nil)
}

// message encodes a request whose arguments are all 32-bit words.
func message(object, opcode uint32, args ...uint32) []byte {
	size := 8 + 4*len(args)
	b := make([]byte, size)
	client.PutUint32(b[0:4], object)
	client.PutUint32(b[4:8], uint32(size)<<16|opcode&0xffff)
	for i, a := range args {
		client.PutUint32(b[8+4*i:], a)
	}
	return b
}

// The virtual input protocols: wlr-virtual-pointer-unstable-v1 (version 2,
// for a pointer mapped onto one output) and virtual-keyboard-unstable-v1.
// Both are requests only, apart from errors on the display.
const (
	VirtualPointer  = "zwlr_virtual_pointer_manager_v1"
	VirtualKeyboard = "zwp_virtual_keyboard_manager_v1"
)

// requestOnly is a proxy the compositor sends no events to.
type requestOnly struct{ client.BaseProxy }

func (*requestOnly) Dispatch(uint32, int, []byte) {}

// newObject registers a proxy for an object a request creates.
func newObject(ctx *client.Context) *requestOnly {
	p := &requestOnly{}
	ctx.Register(p)
	return p
}

// send writes a request whose arguments are all 32-bit words.
func (p *requestOnly) send(opcode uint32, args ...uint32) error {
	return p.Context().WriteMsg(message(p.ID(), opcode, args...), nil)
}

// Requests of zwlr_virtual_pointer_v1 and zwp_virtual_keyboard_v1.
const (
	pointerMotionAbsolute = 1
	pointerButton         = 2
	pointerFrame          = 4
	pointerAxisSource     = 5
	pointerAxisDiscrete   = 7
	pointerDestroy        = 8

	keyboardKeymap    = 0
	keyboardKey       = 1
	keyboardModifiers = 2
	keyboardDestroy   = 3

	// zwlr_virtual_pointer_manager_v1
	createPointer           = 0
	createPointerWithOutput = 2
	// zwp_virtual_keyboard_manager_v1
	createKeyboard = 0
)

// fixed encodes a wl_fixed_t (24.8).
func fixed(v float64) uint32 { return uint32(int32(v * 256)) }
