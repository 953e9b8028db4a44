package desktop

import (
	"os"
	"os/exec"
	"strings"
)

// What a person's desktop does for assist besides sharing: open a page in
// the browser, show a notification, hold a link on the clipboard. Each is
// best effort: without a graphical session, or without the tool, nothing
// happens and the caller has printed what matters anyway.

// Graphical reports whether a graphical session is there to show things.
func Graphical() bool { return os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != "" }

// OpenURL opens url in the person's browser; it reports whether it tried.
func OpenURL(url string) bool {
	return Graphical() && start("xdg-open", url)
}

// Notify shows a desktop notification.
func Notify(title, body string) {
	if Graphical() {
		start("notify-send", "--app-name=assist", title, body)
	}
}

// Copy puts text on the clipboard where a tool for it exists; it reports
// whether it did.
func Copy(text string) bool {
	var tools [][]string
	if os.Getenv("WAYLAND_DISPLAY") != "" {
		tools = append(tools, []string{"wl-copy"})
	}
	if os.Getenv("DISPLAY") != "" {
		tools = append(tools, []string{"xclip", "-selection", "clipboard"}, []string{"xsel", "--clipboard", "--input"})
	}
	for _, t := range tools {
		path, err := exec.LookPath(t[0])
		if err != nil {
			continue
		}
		c := exec.Command(path, t[1:]...)
		c.Stdin = strings.NewReader(text)
		if c.Run() == nil {
			return true
		}
	}
	return false
}

// start runs a helper program in the background, reaping it when it ends.
func start(name string, args ...string) bool {
	path, err := exec.LookPath(name)
	if err != nil {
		return false
	}
	c := exec.Command(path, args...)
	if c.Start() != nil {
		return false
	}
	go func() { _ = c.Wait() }()
	return true
}
