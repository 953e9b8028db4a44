package rendezvous

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Store is where a node keeps what must survive its restart: the code
// records and the portals' signed revocation lists and settings, each
// table a map from key to bytes. The node keeps its working copy in
// memory and writes every change through. BoltStore, one file on the
// node's disk, is the store of a single node; a store shared by several
// nodes plugs in here.
type Store interface {
	// Put stores value under key in table.
	Put(table, key string, value []byte) error
	// Delete removes keys from table; missing keys are no error.
	Delete(table string, keys ...string) error
	// Each calls fn with every record of table.
	Each(table string, fn func(key string, value []byte) error) error
	Close() error
}

// Tables of a node's store.
const (
	tableCodes    = "codes"
	tablePortals  = "portals"
	tableSettings = "portal-settings"
)

var storeTables = []string{tableCodes, tablePortals, tableSettings}

// BoltStore is a Store in one bbolt file.
type BoltStore struct{ db *bolt.DB }

// OpenBoltStore opens (or creates) dataDir/codes.db. A second node on the
// same directory is refused, not left waiting.
func OpenBoltStore(dataDir string) (*BoltStore, error) {
	path := filepath.Join(dataDir, "codes.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: another 'assist rendezvous' is using this data directory", path)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, t := range storeTables {
			if _, err := tx.CreateBucketIfNotExists([]byte(t)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &BoltStore{db: db}, nil
}

// Put stores value under key in table.
func (s *BoltStore) Put(table, key string, value []byte) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := bucket(tx, table)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), value)
	})
}

// Delete removes keys from table.
func (s *BoltStore) Delete(table string, keys ...string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := bucket(tx, table)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := b.Delete([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Each calls fn with every record of table; value is valid during fn only.
func (s *BoltStore) Each(table string, fn func(key string, value []byte) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		b, err := bucket(tx, table)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error { return fn(string(k), v) })
	})
}

// Close closes the file.
func (s *BoltStore) Close() error { return s.db.Close() }

func bucket(tx *bolt.Tx, table string) (*bolt.Bucket, error) {
	if b := tx.Bucket([]byte(table)); b != nil {
		return b, nil
	}
	return nil, fmt.Errorf("no table %q in the store", table)
}
