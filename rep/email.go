package rep

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"net/mail"
	"net/url"
	"strings"
	"time"
)

// invitationText is the body of an invitation to a specialist.
func (inv *Invitation) emailText() string {
	rights := "view the customer's screen"
	if inv.Rights == "control" {
		rights = "view the customer's screen and, while the customer allows it, use their mouse and keyboard"
	}
	return fmt.Sprintf(`%s invites you to join a remote support session as a specialist.

Your access: %s.
Invitation code: %s (valid for %s, until the session ends)

To join, install assist and either
  - open this link: %s
  - or run: %s
You will be asked for your name; everyone in the session sees it.
%s`, inv.HostName, rights, inv.Code, people(inv.MaxUses), inv.Link, inv.Command, inv.joinPageLine())
}

func (inv *Invitation) joinPageLine() string {
	if inv.JoinPage == "" {
		return ""
	}
	return "\nStep by step, with the code: " + inv.JoinPage + "\n"
}

func (inv *Invitation) emailSubject() string {
	return inv.HostName + " invites you to a remote support session"
}

// Email is a code's invitation as a standard .eml message (RFC 5322,
// UTF-8 text) that any mail program opens as a ready-to-send draft.
func (inv *Invitation) Email(to string, now time.Time) ([]byte, error) {
	addr, err := mail.ParseAddress(to)
	if err != nil {
		return nil, &ErrUsage{Msg: fmt.Sprintf("%q is not an email address", to)}
	}
	var id [12]byte
	_, _ = rand.Read(id[:])
	from := mail.Address{Name: inv.HostName + " (assist)", Address: "invitation@assist.invalid"}
	headers := []string{
		"From: " + from.String(),
		"To: " + addr.String(),
		"Subject: " + mime.QEncoding.Encode("utf-8", inv.emailSubject()),
		"Date: " + now.Format(time.RFC1123Z),
		"Message-ID: <" + hex.EncodeToString(id[:]) + "@assist.invalid>",
		"MIME-Version: 1.0",
		"Content-Type: text/plain; charset=utf-8",
		"Content-Transfer-Encoding: 8bit",
		"X-Unsent: 1", // mail programs open it as a draft to send
	}
	body := strings.ReplaceAll(inv.emailText(), "\n", "\r\n")
	return []byte(strings.Join(headers, "\r\n") + "\r\n\r\n" + body), nil
}

// Mailto is the same invitation as a mailto: link.
func (inv *Invitation) Mailto(to string) string {
	q := url.Values{"subject": {inv.emailSubject()}, "body": {inv.emailText()}}
	return "mailto:" + url.PathEscape(to) + "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
}

func people(n int) string {
	if n == 1 {
		return "1 person"
	}
	return fmt.Sprintf("%d people", n)
}
