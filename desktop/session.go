package desktop

import (
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// What a person's desktop does for assist besides sharing: open a page in
// the browser, show a notification, hold a link on the clipboard. Each is
// best effort: without a graphical session, or without the tool, nothing
// happens and the caller has printed what matters anyway.

// Graphical reports whether a graphical session is there to show things.
func Graphical() bool { return os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != "" }

// OpenURL opens url in the person's browser; it reports whether it tried.
// A page's address carries its access token, and a command line is
// readable by every user of the machine (ps), so xdg-open and the browser
// get the path of a private file that sends the browser on instead.
func OpenURL(url string) bool {
	if !Graphical() {
		return false
	}
	if !strings.Contains(url, "?") {
		return start("xdg-open", url)
	}
	page, err := redirectPage(url)
	if err != nil {
		return false
	}
	time.AfterFunc(2*time.Minute, func() { os.RemoveAll(filepath.Dir(page)) })
	return start("xdg-open", page)
}

// redirectPage writes a page, readable by this user alone, that sends
// the browser to url.
func redirectPage(url string) (string, error) {
	dir, err := os.MkdirTemp("", "assist-open-") // mode 0700
	if err != nil {
		return "", err
	}
	page := filepath.Join(dir, "open.html")
	esc := html.EscapeString(url)
	body := `<!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer">` +
		`<meta http-equiv="refresh" content="0;url=` + esc + `"><title>assist</title><a href="` + esc + `">Open assist</a>`
	if err := os.WriteFile(page, []byte(body), 0o600); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return page, nil
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
