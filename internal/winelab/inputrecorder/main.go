//go:build windows

// Command inputrecorder is a Windows program for tests: a window over the
// whole primary monitor that shows a picture, given as a file of BGRA
// rows as wide as the screen, and prints, one line each, the clicks
// ("press X Y", in screen pixels) and the characters ("char 'C'") it
// receives, after "ready" once it is shown and has the keyboard. A line
// "show FILE" on its input replaces the picture (as a program of the
// customer's would change the screen, without any input); it says
// "shown" once the window was asked to paint it.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf16"
	"unsafe"

	"github.com/tailscale/win"
)

var (
	mu      sync.Mutex // picture is replaced while the window paints
	picture []byte
	width   int32
	height  int32
)

// A window's messages queue on the thread that made it: the goroutine
// that makes it and reads its messages must stay on that thread.
func init() { runtime.LockOSThread() }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "inputrecorder:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) != 2 {
		return fmt.Errorf("usage: inputrecorder PICTURE.bgra")
	}
	width, height = win.GetSystemMetrics(win.SM_CXSCREEN), win.GetSystemMetrics(win.SM_CYSCREEN)
	var err error
	if picture, err = load(os.Args[1]); err != nil {
		return err
	}
	inst := win.GetModuleHandle(nil)
	class, _ := syscall.UTF16PtrFromString("assistInputRecorder")
	wc := win.WNDCLASSEX{
		CbSize:        uint32(unsafe.Sizeof(win.WNDCLASSEX{})),
		LpfnWndProc:   syscall.NewCallback(windowProc),
		HInstance:     inst,
		LpszClassName: class,
	}
	if win.RegisterClassEx(&wc) == 0 {
		return fmt.Errorf("RegisterClassEx failed")
	}
	hwnd := win.CreateWindowEx(win.WS_EX_TOPMOST, class, class, win.WS_POPUP|win.WS_VISIBLE,
		0, 0, width, height, 0, 0, inst, nil)
	if hwnd == 0 {
		return fmt.Errorf("CreateWindowEx failed")
	}
	win.ShowWindow(hwnd, win.SW_SHOW)
	win.UpdateWindow(hwnd)
	var msg win.MSG
	for i := 0; win.GetForegroundWindow() != hwnd || win.GetFocus() != hwnd; i++ {
		if i == 100 {
			return fmt.Errorf("the window never got the keyboard's focus")
		}
		win.SetForegroundWindow(hwnd)
		win.SetFocus(hwnd)
		for win.PeekMessage(&msg, 0, 0, 0, win.PM_REMOVE) {
			win.TranslateMessage(&msg)
			win.DispatchMessage(&msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Println("ready")
	go follow(hwnd)
	for win.GetMessage(&msg, 0, 0, 0) > 0 {
		win.TranslateMessage(&msg)
		win.DispatchMessage(&msg)
	}
	return nil
}

// load reads a picture of the screen's size.
func load(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) != int(4*width*height) {
		return nil, fmt.Errorf("the picture has %d bytes, the %dx%d screen needs %d", len(b), width, height, 4*width*height)
	}
	return b, nil
}

// follow shows the pictures named on the input, one "show FILE" a line.
func follow(hwnd win.HWND) {
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		path, ok := strings.CutPrefix(sc.Text(), "show ")
		if !ok {
			continue
		}
		b, err := load(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "inputrecorder:", err)
			os.Exit(1)
		}
		mu.Lock()
		picture = b
		mu.Unlock()
		win.InvalidateRect(hwnd, nil, false)
		fmt.Println("shown")
	}
}

var highSurrogate uint16

func windowProc(hwnd win.HWND, msg uint32, wParam, lParam uintptr) uintptr {
	switch msg {
	case win.WM_PAINT:
		paint(hwnd)
		return 0
	case win.WM_LBUTTONDOWN:
		// The window starts at the screen's corner: its pixels are the
		// screen's.
		x, y := int16(lParam&0xffff), int16(lParam>>16&0xffff)
		fmt.Printf("press %d %d\n", x, y)
		return 0
	case win.WM_CHAR:
		u := uint16(wParam)
		if utf16.IsSurrogate(rune(u)) && highSurrogate == 0 {
			highSurrogate = u
			return 0
		}
		r := rune(u)
		if highSurrogate != 0 {
			r, highSurrogate = utf16.DecodeRune(rune(highSurrogate), rune(u)), 0
		}
		fmt.Printf("char %q\n", r)
		return 0
	case win.WM_KILLFOCUS:
		fmt.Println("lost focus")
	case win.WM_DESTROY:
		win.PostQuitMessage(0)
		return 0
	}
	return win.DefWindowProc(hwnd, msg, wParam, lParam)
}

var setDIBitsToDevice = syscall.NewLazyDLL("gdi32.dll").NewProc("SetDIBitsToDevice")

// paint draws the picture, top row first, 32 bits a pixel.
func paint(hwnd win.HWND) {
	var ps win.PAINTSTRUCT
	hdc := win.BeginPaint(hwnd, &ps)
	defer win.EndPaint(hwnd, &ps)
	mu.Lock()
	defer mu.Unlock()
	bi := win.BITMAPINFO{BmiHeader: win.BITMAPINFOHEADER{
		BiSize:     uint32(unsafe.Sizeof(win.BITMAPINFOHEADER{})),
		BiWidth:    width,
		BiHeight:   -height, // top-down
		BiPlanes:   1,
		BiBitCount: 32,
	}}
	_, _, _ = setDIBitsToDevice.Call(uintptr(hdc), 0, 0, uintptr(width), uintptr(height), 0, 0, 0, uintptr(height),
		uintptr(unsafe.Pointer(&picture[0])), uintptr(unsafe.Pointer(&bi)), win.DIB_RGB_COLORS)
}
