package fanout

import "testing"

func TestEveryListenerGetsEveryValueAndASlowOneIsDropped(t *testing.T) {
	var f Fanout[int]
	a, stopA := f.Subscribe()
	b, _ := f.Subscribe()
	defer stopA()
	for i := range Buffer {
		f.Publish(i)
		if got := <-a; got != i {
			t.Fatalf("a got %d, want %d", got, i)
		}
	}
	f.Publish(-1) // b never read: its buffer is full, it is dropped
	if got := <-a; got != -1 {
		t.Fatalf("a got %d", got)
	}
	n := 0
	for range b {
		n++
	}
	if n != Buffer {
		t.Fatalf("b kept %d values before it was dropped, want %d", n, Buffer)
	}
	f.Close()
	if _, ok := <-a; ok {
		t.Fatal("a still open after Close")
	}
	c, stopC := f.Subscribe()
	stopC()
	if _, ok := <-c; ok {
		t.Fatal("a subscription after Close is open")
	}
}
