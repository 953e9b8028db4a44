//go:build windows

// Command inputrecorder is a Windows program for tests: a window over the
// whole primary monitor that prints, one line each, the clicks ("press X
// Y", in screen pixels) and the characters ("char C") it receives, after
// "ready" once it is shown and has the keyboard.
package main

import (
	"fmt"
	"os"
	"syscall"
	"unicode/utf16"
	"unsafe"

	"github.com/tailscale/win"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "inputrecorder:", err)
		os.Exit(1)
	}
}

func run() error {
	inst := win.GetModuleHandle(nil)
	class, _ := syscall.UTF16PtrFromString("assistInputRecorder")
	wc := win.WNDCLASSEX{
		CbSize:        uint32(unsafe.Sizeof(win.WNDCLASSEX{})),
		LpfnWndProc:   syscall.NewCallback(windowProc),
		HInstance:     inst,
		LpszClassName: class,
		HbrBackground: win.HBRUSH(win.GetStockObject(win.WHITE_BRUSH)),
	}
	if win.RegisterClassEx(&wc) == 0 {
		return fmt.Errorf("RegisterClassEx failed")
	}
	w, h := win.GetSystemMetrics(win.SM_CXSCREEN), win.GetSystemMetrics(win.SM_CYSCREEN)
	hwnd := win.CreateWindowEx(win.WS_EX_TOPMOST, class, class, win.WS_POPUP|win.WS_VISIBLE,
		0, 0, w, h, 0, 0, inst, nil)
	if hwnd == 0 {
		return fmt.Errorf("CreateWindowEx failed")
	}
	win.ShowWindow(hwnd, win.SW_SHOW)
	win.UpdateWindow(hwnd)
	win.SetForegroundWindow(hwnd)
	win.SetFocus(hwnd)
	fmt.Println("ready")
	var msg win.MSG
	for win.GetMessage(&msg, 0, 0, 0) > 0 {
		win.TranslateMessage(&msg)
		win.DispatchMessage(&msg)
	}
	return nil
}

var highSurrogate uint16

func windowProc(hwnd win.HWND, msg uint32, wParam, lParam uintptr) uintptr {
	switch msg {
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
	case win.WM_DESTROY:
		win.PostQuitMessage(0)
		return 0
	}
	return win.DefWindowProc(hwnd, msg, wParam, lParam)
}
