package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/coder/websocket"

	"assist/internal/netlab"
	"assist/screen"
)

const probeEnv = "ASSIST_E2E_PROBE"

// probeViewer runs the test binary inside ns as a viewer client:
//
//	mode "path":  waits until the viewer shows the path want ("direct" or
//	              "relayed") and prints the transport.
//	mode "click": asks for control, waits for it, clicks at x,y.
func probeViewer(t *testing.T, ns, viewerURL, mode string, args ...string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", netlab.Command(ns, self, "-test.run=^$")[1:]...)
	cmd.Env = append(os.Environ(), probeEnv+"="+mode, "PROBE_URL="+viewerURL)
	for i, a := range args {
		cmd.Env = append(cmd.Env, fmt.Sprintf("PROBE_ARG%d=%s", i, a))
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("viewer probe %s %v: %v\n%s", mode, args, err, out)
	}
	return string(out)
}

func runProbe(mode string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	u, err := url.Parse(os.Getenv("PROBE_URL"))
	if err != nil {
		fmt.Println(err)
		return 1
	}
	c, _, err := websocket.Dial(ctx, "ws://"+u.Host+"/ws?"+u.RawQuery, nil)
	if err != nil {
		fmt.Println("dial viewer:", err)
		return 1
	}
	defer c.CloseNow()
	c.SetReadLimit(8 << 20)
	switch mode {
	case "path":
		want := os.Getenv("PROBE_ARG0")
		for {
			typ, b, err := c.Read(ctx)
			if err != nil {
				fmt.Println("no", want, "path shown:", err)
				return 1
			}
			if typ != websocket.MessageText {
				continue
			}
			var e struct {
				Event, Path, Transport string
			}
			if json.Unmarshal(b, &e) == nil && (e.Event == "state" || e.Event == "connection") && e.Path == want {
				fmt.Print(e.Transport)
				return 0
			}
		}
	case "click":
		x, _ := strconv.Atoi(os.Getenv("PROBE_ARG0"))
		y, _ := strconv.Atoi(os.Getenv("PROBE_ARG1"))
		// Ask for control, wait until the customer grants it, then click.
		if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"request_control"}`)); err != nil {
			fmt.Println(err)
			return 1
		}
		for granted := false; !granted; {
			typ, b, err := c.Read(ctx)
			if err != nil {
				fmt.Println("control never granted:", err)
				return 1
			}
			var e struct {
				Event   string
				Control bool
			}
			granted = typ == websocket.MessageText && json.Unmarshal(b, &e) == nil &&
				(e.Event == "consent" || e.Event == "state") && e.Control
		}
		for _, typ := range []string{"down", "up"} {
			b, _ := json.Marshal(map[string]any{"type": "input", "input": map[string]any{"type": typ, "x": x, "y": y, "button": "left"}})
			if err := c.Write(ctx, websocket.MessageText, b); err != nil {
				fmt.Println(err)
				return 1
			}
		}
		c.Close(websocket.StatusNormalClosure, "")
		return 0
	case "frames":
		return probeFrames(ctx, c)
	}
	fmt.Println("unknown probe mode", mode)
	return 1
}

// probeFrames prints, for every frame end the page gets, when it came and
// when its picture was captured (unix µs), until PROBE_ARG0 (a duration)
// is over.
func probeFrames(ctx context.Context, c *websocket.Conn) int {
	d, err := time.ParseDuration(os.Getenv("PROBE_ARG0"))
	if err != nil {
		fmt.Println(err)
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		typ, b, err := c.Read(ctx)
		if err != nil {
			return 0
		}
		if typ != websocket.MessageBinary {
			continue
		}
		if m, err := screen.Decode(b); err == nil && m.Kind == screen.MsgFrameEnd {
			fmt.Printf("frame %d %d\n", time.Now().UnixMicro(), m.End.Captured)
		}
	}
}
