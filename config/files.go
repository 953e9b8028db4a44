package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// WriteFileAtomic replaces path with b: written to a temporary file in the
// same directory, flushed to disk, then renamed over path, and the
// directory flushed too. A crash leaves the old file or the new one,
// never a part of either.
func WriteFileAtomic(path string, b []byte, perm os.FileMode) error {
	tmp, err := writeTemp(path, b, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// CreateFileOnce creates path holding b unless it exists, in one step
// (a link to a complete temporary file): of two processes creating it at
// once, one wins and the other gets fs.ErrExist; a crash never leaves a
// partial file behind.
func CreateFileOnce(path string, b []byte, perm os.FileMode) error {
	tmp, err := writeTemp(path, b, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	// Private before it has its name: another process may read it at once.
	if err := makePrivate(tmp, false); err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil {
		var le *os.LinkError
		if errors.As(err, &le) && errors.Is(le.Err, os.ErrExist) {
			return fmt.Errorf("create %s: %w", path, os.ErrExist)
		}
		return err
	}
	return syncDir(filepath.Dir(path))
}

func writeTemp(path string, b []byte, perm os.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return "", err
	}
	_, err = f.Write(b)
	err = errors.Join(err, f.Chmod(perm), f.Sync(), f.Close())
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return f.Name(), nil
}

// syncDir flushes a directory's entries (a rename, a link) to disk.
// Windows cannot open a directory for that; NTFS journals its entries.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
