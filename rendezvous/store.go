package rendezvous

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Store is where a node keeps what must survive its restart: the code
// records and the portals' signed revocation lists and settings, each
// table a map from key to bytes. The node keeps its working copy in
// memory and writes every change through. FileStore, two bbolt files on
// the node's disk, is the store of a single node; a store shared by
// several nodes plugs in here.
type Store interface {
	// Put stores value under key in table.
	Put(table, key string, value []byte) error
	// Delete removes keys from table; missing keys are no error.
	Delete(table string, keys ...string) error
	// Each calls fn with every record of table.
	Each(table string, fn func(key string, value []byte) error) error
	Close() error
}

// SharedStore is a store several nodes use at once (RedisStore): it
// keeps the codes itself, so every node answers every code, and lists
// the nodes that use it, so they can find each other.
type SharedStore interface {
	Store
	// Get returns the value under key in table (nil if none).
	Get(table, key string) ([]byte, error)
	// GetMany returns the values under keys in table, in their order (nil
	// where none), in one round trip.
	GetMany(table string, keys ...string) ([][]byte, error)
	// Codes is the code registry kept in the store.
	Codes(RegistryLimits, Clock) Codes
	// Announce records this node's addresses for the others.
	Announce(self peer.AddrInfo) error
	// Nodes lists the nodes that announced themselves within fresh.
	Nodes(fresh time.Duration) ([]peer.AddrInfo, error)
	// CountSlots is how many portal slots all the nodes hold, and how
	// many of them were opened from source src.
	CountSlots(src string) (total, fromSource int, err error)
	// AddSlotSource records that portal pid's slot was opened from src;
	// RemoveSlotSource forgets it.
	AddSlotSource(src, pid string) error
	RemoveSlotSource(src string, pids ...string) error
}

var _ SharedStore = (*RedisStore)(nil)

// Tables of a node's store.
const (
	tableCodes    = "codes"
	tablePortals  = "portals"
	tableSettings = "portal-settings"
	tableSlots    = "portal-slots"
)

// The node's disk store is two files with different worth. codes.db holds
// codes that live minutes to hours: if it is damaged the node moves it
// aside and starts empty (customers make new codes). portals.db holds the
// portals' revocation lists and settings: if it is damaged the node
// refuses to start, since serving no revocation list would let revoked
// reps back in; the operator restores it or moves it away knowingly.
const (
	codesFile   = "codes.db"
	portalsFile = "portals.db"
)

// FileStore is the node's Store on its own disk: codes in one bbolt
// file, portal state in another.
type FileStore struct {
	codes, portals *BoltStore
	// Recovered says what was moved aside at open ("" if nothing).
	Recovered string
}

// OpenFileStore opens (or creates) the node's two files in dataDir. A
// damaged codes.db is moved aside (FileStore.Recovered says where); a
// damaged portals.db is an error. A second node on the same directory is
// refused, not left waiting.
func OpenFileStore(dataDir string) (*FileStore, error) {
	fs := &FileStore{}
	var err error
	codesPath := filepath.Join(dataDir, codesFile)
	fs.codes, err = openBolt(codesPath, []string{tableCodes})
	if errors.Is(err, errDamaged) {
		aside := fmt.Sprintf("%s.damaged-%d", codesPath, time.Now().Unix())
		if mvErr := os.Rename(codesPath, aside); mvErr != nil {
			return nil, fmt.Errorf("%w; moving it aside failed too: %v", err, mvErr)
		}
		fs.Recovered = fmt.Sprintf("%v: moved to %s; the node starts without the codes it held (whoever made them makes new ones)", err, aside)
		fs.codes, err = openBolt(codesPath, []string{tableCodes})
	}
	if err != nil {
		return nil, err
	}
	portalsPath := filepath.Join(dataDir, portalsFile)
	_, statErr := os.Stat(portalsPath)
	fresh := errors.Is(statErr, os.ErrNotExist)
	fs.portals, err = openBolt(portalsPath, []string{tablePortals, tableSettings, tableSlots})
	if errors.Is(err, errDamaged) {
		err = fmt.Errorf("%w: it holds the portals' revocation lists and settings, so the node will not start without it: restore it from a backup, or move it away to start without them (each portal's manager then publishes them again)", err)
	}
	if err != nil {
		fs.codes.Close()
		return nil, err
	}
	if fresh { // portal state used to live in codes.db
		if err := fs.movePortalTables(); err != nil {
			fs.Close()
			return nil, err
		}
	}
	return fs, nil
}

// movePortalTables moves portal state an older node kept in codes.db.
func (fs *FileStore) movePortalTables() error {
	for _, t := range []string{tablePortals, tableSettings} {
		if !fs.codes.has(t) {
			continue
		}
		err := fs.codes.Each(t, func(k string, v []byte) error { return fs.portals.Put(t, k, v) })
		if err != nil {
			return fmt.Errorf("move %s to %s: %w", t, portalsFile, err)
		}
		if err := fs.codes.db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket([]byte(t)) }); err != nil {
			return err
		}
	}
	return nil
}

func (fs *FileStore) table(t string) *BoltStore {
	if t == tableCodes {
		return fs.codes
	}
	return fs.portals
}

// Put stores value under key in table.
func (fs *FileStore) Put(table, key string, value []byte) error {
	return fs.table(table).Put(table, key, value)
}

// Delete removes keys from table.
func (fs *FileStore) Delete(table string, keys ...string) error {
	return fs.table(table).Delete(table, keys...)
}

// Each calls fn with every record of table.
func (fs *FileStore) Each(table string, fn func(key string, value []byte) error) error {
	return fs.table(table).Each(table, fn)
}

func (s *BoltStore) has(table string) bool {
	return s.db.View(func(tx *bolt.Tx) error { _, err := bucket(tx, table); return err }) == nil
}

// Close closes both files.
func (fs *FileStore) Close() error { return errors.Join(fs.codes.Close(), fs.portals.Close()) }

// BoltStore is a Store in one bbolt file.
type BoltStore struct{ db *bolt.DB }

// errDamaged: a store file is not a sound bbolt file.
var errDamaged = errors.New("damaged")

// openBolt opens one file with the given tables, checked page by page
// first: bbolt trusts its file and panics (or faults on its memory map)
// on a damaged one, so damage must be found here, where it is recovered
// into an error, and not in a write hours later.
func openBolt(path string, tables []string) (store *BoltStore, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	var db *bolt.DB
	defer func() {
		if r := recover(); r != nil {
			if db != nil {
				_ = db.Close()
			}
			store, err = nil, fmt.Errorf("store %s is %w (%v)", path, errDamaged, r)
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: another 'assist rendezvous' is using this data directory", path)
	}
	if err != nil {
		if errors.Is(err, os.ErrPermission) || errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		return nil, fmt.Errorf("store %s is %w (%v)", path, errDamaged, err)
	}
	if err := checkBolt(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s is %w (%v)", path, errDamaged, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, t := range tables {
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

// checkBolt reads every record and makes one small write, all on this
// goroutine, where a fault on a bad page becomes a panic that openBolt
// recovers. (bbolt's own Tx.Check walks the file on a goroutine of its
// own, where such a fault kills the process.)
func checkBolt(db *bolt.DB) error {
	err := db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(_ []byte, b *bolt.Bucket) error { return walkBucket(b) })
	})
	if err != nil {
		return err
	}
	// A write allocates from the freelist and commits a new meta page.
	return db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("assist-check"))
		if err != nil {
			return err
		}
		if err := b.Put([]byte("k"), []byte("v")); err != nil {
			return err
		}
		return tx.DeleteBucket([]byte("assist-check"))
	})
}

func walkBucket(b *bolt.Bucket) error {
	return b.ForEach(func(k, v []byte) error {
		if v != nil {
			return nil
		}
		nested := b.Bucket(k)
		if nested == nil {
			return fmt.Errorf("bucket %q is missing", k)
		}
		return walkBucket(nested)
	})
}

// Put stores value under key in table.
func (s *BoltStore) Put(table, key string, value []byte) error {
	return s.update(table, func(b *bolt.Bucket) error { return b.Put([]byte(key), value) })
}

// Delete removes keys from table.
func (s *BoltStore) Delete(table string, keys ...string) error {
	return s.update(table, func(b *bolt.Bucket) error {
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
	return guard(func() error {
		return s.db.View(func(tx *bolt.Tx) error {
			b, err := bucket(tx, table)
			if err != nil {
				return err
			}
			return b.ForEach(func(k, v []byte) error { return fn(string(k), v) })
		})
	})
}

func (s *BoltStore) update(table string, fn func(*bolt.Bucket) error) error {
	return guard(func() error {
		return s.db.Update(func(tx *bolt.Tx) error {
			b, err := bucket(tx, table)
			if err != nil {
				return err
			}
			return fn(b)
		})
	})
}

// guard runs a store operation, turning a panic or a memory fault inside
// bbolt (damage the check at open did not see) into an error: bbolt rolls
// the transaction back, and the node answers that one request with it.
func guard(op func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the store is %w (%v): restart the node to check it", errDamaged, r)
		}
	}()
	return op()
}

// Close closes the file.
func (s *BoltStore) Close() error { return s.db.Close() }

func bucket(tx *bolt.Tx, table string) (*bolt.Bucket, error) {
	if b := tx.Bucket([]byte(table)); b != nil {
		return b, nil
	}
	return nil, fmt.Errorf("no table %q in the store", table)
}
