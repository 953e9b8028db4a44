package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestIdentityIsCreatedOnceAndWhole: processes starting at once share one
// key, and nothing but the whole key file is ever in the directory.
func TestIdentityIsCreatedOnceAndWhole(t *testing.T) {
	dir := t.TempDir()
	ids := make([]string, 16)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			k, err := LoadOrCreateIdentity(dir)
			if err != nil {
				t.Error(err)
				return
			}
			raw, _ := k.Raw()
			ids[i] = string(raw)
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatal("processes starting at once got different identities")
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != IdentityFile {
		t.Fatalf("the directory holds %v: temporary files were left", entries)
	}
}

func TestWriteFileAtomicReplacesWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	for _, body := range []string{"first", "second, longer"} {
		if err := WriteFileAtomic(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(path); string(b) != body {
			t.Fatalf("file holds %q, want %q", b, body)
		}
	}
	if err := CreateFileOnce(path, []byte("third"), 0o600); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("CreateFileOnce over an existing file: %v", err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode().Perm())
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
}
