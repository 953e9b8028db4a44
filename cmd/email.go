package cmd

import (
	"assist/rep"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"
)

// invitationText is the body of an invitation to a specialist.
func invitationText(inv *rep.Invitation) string {
	rights := "view the customer's screen"
	if inv.Rights == "control" {
		rights = "view the customer's screen and, while the customer allows it, use their mouse and keyboard"
	}
	return fmt.Sprintf(`%s invites you to join a remote support session as a specialist.

Your access: %s.
Invitation code: %s (valid for %s, until the session ends)

To join, install assist and either
  - open this link: %s
  - or run: assist join %s
You will be asked for your name; everyone in the session sees it.
%s`, inv.HostName, rights, inv.Code, plural(inv.MaxUses, "person"), inv.Link, inv.Code, joinPageLine(inv))
}

func joinPageLine(inv *rep.Invitation) string {
	if inv.JoinPage == "" {
		return ""
	}
	return "\nStep by step, with the code: " + inv.JoinPage + "\n"
}

func invitationSubject(inv *rep.Invitation) string {
	return inv.HostName + " invites you to a remote support session"
}

// writeInvitationEmail writes a standard .eml file (RFC 5322, UTF-8 text)
// that any mail program opens as a ready-to-send message.
func writeInvitationEmail(path, to string, inv *rep.Invitation, now time.Time) error {
	addr, err := mail.ParseAddress(to)
	if err != nil {
		return usageErrorf("--email %q is not an email address", to)
	}
	var id [12]byte
	_, _ = rand.Read(id[:])
	from := mail.Address{Name: inv.HostName + " (assist)", Address: "invitation@assist.invalid"}
	headers := []string{
		"From: " + from.String(),
		"To: " + addr.String(),
		"Subject: " + mime.QEncoding.Encode("utf-8", invitationSubject(inv)),
		"Date: " + now.Format(time.RFC1123Z),
		"Message-ID: <" + hex.EncodeToString(id[:]) + "@assist.invalid>",
		"MIME-Version: 1.0",
		"Content-Type: text/plain; charset=utf-8",
		"Content-Transfer-Encoding: 8bit",
		"X-Unsent: 1", // mail programs open it as a draft to send
	}
	body := strings.ReplaceAll(invitationText(inv), "\n", "\r\n")
	msg := strings.Join(headers, "\r\n") + "\r\n\r\n" + body
	return os.WriteFile(path, []byte(msg), 0o600)
}

// mailtoLink is the same invitation as a mailto: link.
func mailtoLink(to string, inv *rep.Invitation) string {
	q := url.Values{"subject": {invitationSubject(inv)}, "body": {invitationText(inv)}}
	return "mailto:" + url.PathEscape(to) + "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
}

// copyToClipboard puts text on the desktop's clipboard where a tool for it
// exists; it reports whether it did.
func copyToClipboard(text string) bool {
	var cmds [][]string
	if os.Getenv("WAYLAND_DISPLAY") != "" {
		cmds = append(cmds, []string{"wl-copy"})
	}
	if os.Getenv("DISPLAY") != "" {
		cmds = append(cmds, []string{"xclip", "-selection", "clipboard"}, []string{"xsel", "--clipboard", "--input"})
	}
	for _, c := range cmds {
		path, err := exec.LookPath(c[0])
		if err != nil {
			continue
		}
		cmd := exec.Command(path, c[1:]...)
		cmd.Stdin = strings.NewReader(text)
		if cmd.Run() == nil {
			return true
		}
	}
	return false
}
