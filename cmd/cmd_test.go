package cmd

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"assist/rep"
)

func testIO() (*IO, *bytes.Buffer, *bytes.Buffer) {
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	return &IO{In: strings.NewReader(""), Out: out, ErrOut: errOut}, out, errOut
}

func TestShareFlags(t *testing.T) {
	io, _, _ := testIO()
	var got *ShareOptions
	c := NewCmdShare(io, func(_ context.Context, o *ShareOptions) error { got = o; return nil })
	c.SetArgs([]string{"--allow-view", "--display", "1", "--key-ttl", "2m", "--json", "--rendezvous", "/ip4/1.2.3.4/tcp/1/p2p/x"})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	if !got.AllowView || got.AllowControl || got.Display != 1 || got.KeyTTL != 2*time.Minute || !got.Peer.JSON || len(got.Peer.Rendezvous) != 1 {
		t.Fatalf("parsed %+v", got)
	}
	c = NewCmdShare(io, func(context.Context, *ShareOptions) error { return nil })
	c.SetArgs([]string{"--key-ttl", "0s"})
	if err := c.Execute(); err == nil {
		t.Fatal("zero key TTL accepted")
	}
}

func TestJoinFlags(t *testing.T) {
	io, _, _ := testIO()
	var got *JoinOptions
	c := NewCmdJoin(io, func(_ context.Context, o *JoinOptions) error { got = o; return nil })
	c.SetArgs([]string{"--name", "Alice", "--no-browser", "482-193-775-125"})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Name != "Alice" || !got.NoBrowser || got.Code != "482-193-775-125" {
		t.Fatalf("parsed %+v", got)
	}
}

func TestRendezvousFlags(t *testing.T) {
	io, _, _ := testIO()
	var got *RendezvousOptions
	c := NewCmdRendezvous(io, func(_ context.Context, o *RendezvousOptions) error { got = o; return nil })
	c.SetArgs([]string{"--listen", "/ip4/127.0.0.1/tcp/1", "--relay-max-duration", "1h", "--relay-max-data", "1000", "--lookup-rate", "3", "--data-dir", t.TempDir()})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	n := got.Node
	if len(n.Listen) != 1 || n.Relay.MaxDuration != time.Hour || n.Relay.MaxData != 1000 || n.LookupPerPeer.Per != 3 {
		t.Fatalf("parsed %+v", n)
	}
}

func TestMainExitCodes(t *testing.T) {
	io, _, errOut := testIO()
	if code := Main([]string{"share", "--no-such-flag"}, io); code != exitUsage {
		t.Fatalf("unknown flag: exit %d", code)
	}
	if !strings.Contains(errOut.String(), "--help") {
		t.Fatalf("usage error does not point to --help: %q", errOut.String())
	}
	io, _, errOut = testIO()
	if code := Main([]string{"join", "123-456-789-012"}, io); code != exitError {
		t.Fatalf("mistyped key: exit %d", code)
	}
	if !strings.Contains(errOut.String(), "mistyped") {
		t.Fatalf("mistyped key message: %q", errOut.String())
	}
}

func TestJoinWithoutRendezvousSaysWhatToDo(t *testing.T) {
	t.Setenv("ASSIST_HOME", t.TempDir())
	t.Setenv("ASSIST_RENDEZVOUS", "")
	io, _, errOut := testIO()
	// A well-formed key, so the failure is the missing rendezvous node.
	if code := Main([]string{"join", "000-000-000-000"}, io); code == exitOK {
		t.Fatal("join without rendezvous succeeded")
	}
	if msg := errOut.String(); !strings.Contains(msg, "--rendezvous") || !strings.Contains(msg, "ASSIST_RENDEZVOUS") {
		t.Fatalf("error does not say what to do: %q", msg)
	}
}

func TestBannerIsFiveRows(t *testing.T) {
	b := banner("482-193-775-125")
	if n := strings.Count(b, "\n"); n != 5 {
		t.Fatalf("banner has %d rows", n)
	}
}

func TestPortalCreateEnrollLoginRevoke(t *testing.T) {
	mgr, rep := t.TempDir(), t.TempDir()
	run := func(home string, args ...string) (int, string, string) {
		t.Setenv("ASSIST_HOME", home)
		io, out, errOut := testIO()
		return Main(args, io), out.String(), errOut.String()
	}
	if code, out, errOut := run(mgr, "portal", "create", "Acme"); code != 0 || !strings.Contains(out, "created") {
		t.Fatalf("create: %d %s %s", code, out, errOut)
	}
	_, id, _ := run(rep, "id")
	id = strings.TrimSpace(id)
	code, token, errOut := run(mgr, "portal", "enroll", "Acme", "--name", "Alice", "--peer", id)
	if code != 0 || !strings.Contains(errOut, "assist login") {
		t.Fatalf("enroll: %d %s", code, errOut)
	}
	if code, out, errOut := run(rep, "login", strings.TrimSpace(token)); code != 0 || !strings.Contains(out, `portal "Acme" as Alice`) {
		t.Fatalf("login: %d %s %s", code, out, errOut)
	}
	// The manager's own ID is not the rep's: the same token is refused.
	if code, _, errOut := run(mgr, "login", strings.TrimSpace(token)); code == 0 || !strings.Contains(errOut, "assist id") {
		t.Fatalf("login with someone else's token: %d %s", code, errOut)
	}
	// Revoked here, but not in force until published: with no rendezvous
	// node configured that is an error saying how to finish.
	t.Setenv("ASSIST_RENDEZVOUS", "")
	if code, out, errOut := run(mgr, "portal", "revoke", "Acme", "--name", "Alice"); code != exitError ||
		!strings.Contains(out, "revoked 1 credential") || !strings.Contains(errOut, "assist portal publish Acme") {
		t.Fatalf("revoke: %d %s %s", code, out, errOut)
	}
	if code, out, errOut := run(mgr, "portal", "settings", "Acme", "--externals", "on", "--max-rights", "control"); code != exitError ||
		!strings.Contains(out, "external specialists on, at most control") || !strings.Contains(errOut, "assist portal publish Acme") {
		t.Fatalf("settings: %d %s %s", code, out, errOut)
	}
	if code, out, _ := run(mgr, "portal", "settings", "Acme"); code != 0 || !strings.Contains(out, "external specialists on") {
		t.Fatalf("show settings: %d %s", code, out)
	}
	if code, _, errOut := run(mgr, "portal", "enroll", "Acme", "--name", "Bob", "--peer", "nonsense"); code != exitUsage || !strings.Contains(errOut, "assist id") {
		t.Fatalf("bad peer ID: %d %s", code, errOut)
	}
}

func TestInviteFlags(t *testing.T) {
	io, _, _ := testIO()
	var got *InviteOptions
	run := func(args ...string) error {
		got = nil
		c := NewCmdInvite(io, func(_ context.Context, o *InviteOptions) error { got = o; return nil })
		c.SetArgs(args)
		return c.Execute()
	}
	if err := run("--rep", "Bob", "--mask", "--comment", "printer", "--expires", "30s", "--no-wait"); err != nil {
		t.Fatal(err)
	}
	if r := got.Invite; r.Rep != "Bob" || !r.Mask || r.Comment != "printer" || r.TTL != 30*time.Second || !r.NoWait || got.External {
		t.Fatalf("parsed %+v", got)
	}
	if err := run("--external", "--access", "control", "--max-uses", "3", "--allow-share", "--email", "sam@example.com"); err != nil {
		t.Fatal(err)
	}
	if c := got.Code; c.Access != "control" || c.MaxUses != 3 || !c.AllowShare || got.Email != "sam@example.com" {
		t.Fatalf("parsed %+v", got)
	}
	for _, bad := range [][]string{
		{},                                   // nobody
		{"--rep", "Bob", "--portal", "Acme"}, // two at once
		{"--rep", "Bob", "--max-uses", "2"},  // a code's flag without --external
		{"--external", "--access", "admin"},  // no such right
		{"--external", "--mask"},
		{"--rep", "Bob", "--expires", "0s"},
	} {
		err := run(bad...)
		var ue *usageError
		if !errors.As(err, &ue) || got != nil {
			t.Fatalf("%v: %v (ran: %v)", bad, err, got != nil)
		}
	}
}

func TestSessionLinesBecomeCommands(t *testing.T) {
	for line, want := range map[string]rep.Command{
		"hello":          {Chat: "hello"},
		"/i just us":     {Chat: "just us", Internal: true},
		"/control":       {Control: true},
		"/END":           {End: true},
		"/leave":         {End: true},
		"not /a command": {Chat: "not /a command"},
	} {
		got, err := parseCommand(line)
		if err != nil || got != want {
			t.Fatalf("%q: %+v %v", line, got, err)
		}
	}
	for _, line := range []string{"/help me", "/contrl", "/i"} {
		if _, err := parseCommand(line); err == nil {
			t.Fatalf("%q was taken for a command or chat", line)
		}
	}
}

// TestPortalCommandsSayTheTruth: a mistyped subcommand fails, showing the
// settings changes nothing, a missing credential file is named, a second
// rep under a taken name is refused.
func TestPortalCommandsSayTheTruth(t *testing.T) {
	home := t.TempDir()
	t.Setenv("ASSIST_HOME", home)
	t.Setenv("ASSIST_RENDEZVOUS", "")
	run := func(args ...string) (int, string, string) {
		io, out, errOut := testIO()
		return Main(args, io), out.String(), errOut.String()
	}
	if code, _, errOut := run("portal", "creat", "X"); code != exitUsage || !strings.Contains(errOut, `unknown command "creat"`) {
		t.Fatalf("portal creat: %d %q", code, errOut)
	}
	if code, _, _ := run("portal", "create", "Acme"); code != 0 {
		t.Fatal("create")
	}
	for range 2 {
		if code, out, _ := run("portal", "settings", "Acme"); code != 0 || !strings.Contains(out, "settings version 1)") {
			t.Fatalf("showing the settings: %d %q", code, out)
		}
	}
	if code, _, errOut := run("portal", "settings", "Acme", "--externals", "maybe"); code != exitUsage || !strings.Contains(errOut, "on or off") {
		t.Fatalf("a bad flag: %d %q", code, errOut)
	}
	if _, out, _ := run("portal", "settings", "Acme"); !strings.Contains(out, "settings version 1)") {
		t.Fatalf("a refused change bumped the version: %q", out)
	}
	if code, _, errOut := run("login", "/missing.cred"); code != exitUsage || !strings.Contains(errOut, "/missing.cred: no such file") {
		t.Fatalf("login with a missing file: %d %q", code, errOut)
	}
	a, b := "12D3KooWDjHBeeArpmb6xwCVMRh73rDg1sYBe9QB7wBhtMMPDFtE", "12D3KooWQrUQQTi7ZdBMM1md4BSCjEfHTmhHiVwP463k77Vbrwyo"
	if code, _, errOut := run("portal", "enroll", "Acme", "--name", "Alice", "--peer", a); code != 0 {
		t.Fatalf("enroll: %s", errOut)
	}
	if code, _, _ := run("portal", "enroll", "Acme", "--name", "Alice", "--peer", a); code != 0 {
		t.Fatal("renewing Alice's own credential was refused")
	}
	if code, _, errOut := run("portal", "enroll", "Acme", "--name", "alice", "--peer", b); code == 0 || !strings.Contains(errOut, `already has a rep named "Alice"`) {
		t.Fatalf("a second Alice: %d %q", code, errOut)
	}
	if code, out, _ := run("version"); code != 0 || !strings.HasPrefix(out, "assist ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

// TestEveryCommandHasExamples: 'assist X --help' always shows how it is used.
func TestEveryCommandHasExamples(t *testing.T) {
	io, _, _ := testIO()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Name() != "help" && c.Example == "" && c.HasParent() {
			t.Errorf("%s has no examples", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(NewRootCmd(io))
}

// TestTextFromTheNetworkCannotSteerTheTerminal: a chat line with escape
// sequences is shown, not obeyed.
func TestTextFromTheNetworkCannotSteerTheTerminal(t *testing.T) {
	var out bytes.Buffer
	NewEvents(&out, false).Emit("chat", nil, "[12:00] Sam: \x1b[2J\x1b]0;owned\x07hi\x9b1m\nnext line\ttab")
	if strings.ContainsAny(out.String(), "\x1b\x07\u009b") || !strings.Contains(out.String(), "hi") || !strings.Contains(out.String(), "\nnext line\ttab") {
		t.Fatalf("shown as %q", out.String())
	}
}

// TestTheSystemdUnitsCommandLineParses: the sample unit's ExecStart, with
// the store its environment file may add, is a command line this
// 'assist rendezvous' takes.
func TestTheSystemdUnitsCommandLineParses(t *testing.T) {
	unit, err := os.ReadFile("../deploy/assist-rendezvous.service")
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(string(unit), "\n") {
		if rest, ok := strings.CutPrefix(l, "ExecStart="); ok {
			line = rest
		}
	}
	fields := strings.Fields(strings.ReplaceAll(line, "$ASSIST_STORE", "--store redis://10.0.0.5:6379/0"))
	if len(fields) < 2 || fields[1] != "rendezvous" {
		t.Fatalf("ExecStart=%s", line)
	}
	io, _, _ := testIO()
	var got *RendezvousOptions
	c := NewCmdRendezvous(io, func(_ context.Context, o *RendezvousOptions) error { got = o; return nil })
	c.SetArgs(fields[2:])
	if err := c.Execute(); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	if got.Store != "redis://10.0.0.5:6379/0" || got.Node.MetricsListen == "" || got.Node.DataDir == "" {
		t.Fatalf("parsed %+v", got)
	}
}
