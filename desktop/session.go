package desktop

import (
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// What a person's desktop does for assist besides sharing: open a page in
// the browser, show a notification, hold a link on the clipboard. Each is
// best effort: without a graphical session, or without the tool, nothing
// happens and the caller has printed what matters anyway.

// Graphical reports whether a graphical session is there to show things.
// Windows and macOS always have one for a program a person runs.
func Graphical() bool { return graphical(runtime.GOOS, os.Getenv) }

func graphical(goos string, getenv func(string) string) bool {
	switch goos {
	case "windows", "darwin":
		return true
	}
	return getenv("DISPLAY") != "" || getenv("WAYLAND_DISPLAY") != ""
}

// opener is the command that opens a file or an address with the
// person's default program. On Windows it is url.dll's handler rather
// than cmd's start, which would read & and ^ in an address as its own.
func opener(goos string) []string {
	switch goos {
	case "windows":
		return []string{"rundll32", "url.dll,FileProtocolHandler"}
	case "darwin":
		return []string{"open"}
	}
	return []string{"xdg-open"}
}

// OpenURL opens url in the person's browser; it reports whether it tried.
// A page's address carries its access token, and on Linux and macOS a
// command line is readable by every user of the machine (ps), so the
// opener and the browser get the path of a private file that sends the
// browser on instead. Windows shows a process's command line to its own
// user only (and opens a local page with whatever program claims .html,
// not always a browser), so there the address goes as it is.
func OpenURL(url string) bool {
	if !Graphical() {
		return false
	}
	open := opener(runtime.GOOS)
	if !strings.Contains(url, "?") || runtime.GOOS == "windows" {
		return start(open[0], append(open[1:], url)...)
	}
	page, err := redirectPage(url)
	if err != nil {
		return false
	}
	time.AfterFunc(2*time.Minute, func() { os.RemoveAll(filepath.Dir(page)) })
	return start(open[0], append(open[1:], page)...)
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

// Notify shows a desktop notification: notify-send on Linux, Notification
// Center on macOS. Windows has no command for one without PowerShell,
// whose start costs a second; there the console's line is the alert.
func Notify(title, body string) {
	if c := notifier(runtime.GOOS, title, body); c != nil && Graphical() {
		start(c[0], c[1:]...)
	}
}

func notifier(goos, title, body string) []string {
	switch goos {
	case "darwin":
		// AppleScript strings: the text goes in as an argument, not code.
		return []string{"osascript", "-e", "on run argv", "-e", "display notification (item 2 of argv) with title (item 1 of argv)", "-e", "end run", title, body}
	case "windows":
		return nil
	}
	return []string{"notify-send", "--app-name=assist", title, body}
}

// Copy puts text on the clipboard where a tool for it exists; it reports
// whether it did.
func Copy(text string) bool {
	for _, t := range clipboards(runtime.GOOS, os.Getenv) {
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

// clipboards are the tools that may take text to the clipboard, best
// first.
func clipboards(goos string, getenv func(string) string) [][]string {
	switch goos {
	case "windows":
		return [][]string{{"clip"}}
	case "darwin":
		return [][]string{{"pbcopy"}}
	}
	var tools [][]string
	if getenv("WAYLAND_DISPLAY") != "" {
		tools = append(tools, []string{"wl-copy"})
	}
	if getenv("DISPLAY") != "" {
		tools = append(tools, []string{"xclip", "-selection", "clipboard"}, []string{"xsel", "--clipboard", "--input"})
	}
	return tools
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
