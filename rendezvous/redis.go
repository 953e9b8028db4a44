package rendezvous

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/redis/go-redis/v9"
	redislogging "github.com/redis/go-redis/v9/logging"

	"assist/shortcode"
)

// RedisStore keeps a node's codes and portal state in Redis, so that
// every node pointed at the same Redis answers every code: registered at
// one, resolved at another, cancelled at a third. Uniqueness and expiry
// are Redis's: a registration is one Lua script (create if absent, count
// the owner's and the source's live codes, set the key's expiry), and an
// ended code's key expires by itself when its tombstone time is over.
//
// Every key carries the hash tag {assist}: a script's keys then always
// share one Cluster slot, should a Cluster client be added.
type RedisStore struct {
	rdb    redis.UniversalClient
	prefix string
	// Observe, if set, hears of every store operation: its name, how long
	// it took and its error (metrics).
	Observe func(op string, took time.Duration, err error)
}

// RedisPasswordEnv names the variable a Redis password may come from,
// so that it need not appear in a command line.
const RedisPasswordEnv = "ASSIST_REDIS_PASSWORD"

// storeTimeout bounds one store operation: a client learns that the
// store is down within a second, not after a TCP timeout.
const storeTimeout = 700 * time.Millisecond

// ErrUnavailable means the node could not reach its store.
var ErrUnavailable = errors.New("the rendezvous node's store is unavailable: try again in a moment")

// OpenRedisStore connects to the Redis at url (redis://[:PASSWORD@]HOST:PORT/DB
// or rediss:// for TLS); a password may also come from
// $ASSIST_REDIS_PASSWORD. It checks that Redis answers.
//
// With master_name in the query (…?master_name=NAME&addr=HOST:PORT for
// each further sentinel), the address is a Redis Sentinel's, and the
// store follows whichever server the sentinels say is the primary: when
// it dies and a replica is promoted, the nodes carry on with it.
func OpenRedisStore(ctx context.Context, rawURL string) (*RedisStore, error) {
	client, addr, err := redisClient(rawURL)
	if err != nil {
		return nil, fmt.Errorf("--store %s: %w (expected redis://HOST:PORT/DB or rediss://…)", rawURL, err)
	}
	// The node says when the store fails and when it is back; go-redis
	// would print every failed dial on stderr.
	redislogging.Disable()
	s := &RedisStore{rdb: client, prefix: "{assist}:"}
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := s.rdb.Ping(pctx).Err(); err != nil {
		s.rdb.Close()
		return nil, fmt.Errorf("cannot reach the Redis at %s given as --store (%w): is it running, and are the address, password ($%s) and database right?", addr, err, RedisPasswordEnv)
	}
	return s, nil
}

// redisClient makes the client rawURL names, with the store's timeouts.
func redisClient(rawURL string) (redis.UniversalClient, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", err
	}
	if u.Query().Has("master_name") {
		opt, err := redis.ParseFailoverURL(rawURL)
		if err != nil {
			return nil, "", err
		}
		if opt.Password == "" {
			opt.Password = os.Getenv(RedisPasswordEnv)
		}
		opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = storeTimeout, storeTimeout, storeTimeout
		opt.MaxRetries, opt.DialerRetries, opt.ContextTimeoutEnabled = 0, 1, true
		return redis.NewFailoverClient(opt), "sentinels " + strings.Join(opt.SentinelAddrs, ","), nil
	}
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, "", err
	}
	if opt.Password == "" {
		opt.Password = os.Getenv(RedisPasswordEnv)
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = storeTimeout, storeTimeout, storeTimeout
	opt.MaxRetries = 0 // one try within storeTimeout; the client retries
	opt.DialerRetries = 1
	opt.ContextTimeoutEnabled = true
	return redis.NewClient(opt), opt.Addr, nil
}

// Close closes the connections to Redis.
func (s *RedisStore) Close() error { return s.rdb.Close() }

// do runs one store operation within storeTimeout and reports it.
func (s *RedisStore) do(op string, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	start := time.Now()
	err := fn(ctx)
	if errors.Is(err, redis.Nil) {
		err = nil
	}
	if s.Observe != nil {
		s.Observe(op, time.Since(start), err)
	}
	if err != nil {
		return fmt.Errorf("%w (%s: %v)", ErrUnavailable, op, err)
	}
	return nil
}

func (s *RedisStore) tableKey(table string) string { return s.prefix + "t:" + table }

// Put stores value under key in table.
func (s *RedisStore) Put(table, key string, value []byte) error {
	return s.do("put", func(ctx context.Context) error {
		return s.rdb.HSet(ctx, s.tableKey(table), key, value).Err()
	})
}

// Get returns the value under key in table (nil if none).
func (s *RedisStore) Get(table, key string) ([]byte, error) {
	var v []byte
	err := s.do("get", func(ctx context.Context) (err error) {
		v, err = s.rdb.HGet(ctx, s.tableKey(table), key).Bytes()
		return err
	})
	return v, err
}

// GetMany returns the values under keys in table, in their order (nil
// where none), in one round trip.
func (s *RedisStore) GetMany(table string, keys ...string) ([][]byte, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	out := make([][]byte, len(keys))
	err := s.do("get_many", func(ctx context.Context) error {
		vals, err := s.rdb.HMGet(ctx, s.tableKey(table), keys...).Result()
		for i, v := range vals {
			if str, ok := v.(string); ok && i < len(out) {
				out[i] = []byte(str)
			}
		}
		return err
	})
	return out, err
}

// Delete removes keys from table.
func (s *RedisStore) Delete(table string, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	return s.do("delete", func(ctx context.Context) error {
		return s.rdb.HDel(ctx, s.tableKey(table), keys...).Err()
	})
}

// Each calls fn with every record of table.
func (s *RedisStore) Each(table string, fn func(key string, value []byte) error) error {
	var all map[string]string
	err := s.do("each", func(ctx context.Context) (err error) {
		all, err = s.rdb.HGetAll(ctx, s.tableKey(table)).Result()
		return err
	})
	if err != nil {
		return err
	}
	for k, v := range all {
		if err := fn(k, []byte(v)); err != nil {
			return err
		}
	}
	return nil
}

// CountSlots is how many portal slots the store holds, and how many were
// opened from src.
func (s *RedisStore) CountSlots(src string) (total, fromSource int, err error) {
	err = s.do("count-slots", func(ctx context.Context) error {
		pipe := s.rdb.Pipeline()
		all := pipe.HLen(ctx, s.tableKey(tableSlots))
		from := pipe.SCard(ctx, s.slotSourceKey(src))
		if _, err := pipe.Exec(ctx); err != nil {
			return err
		}
		total, fromSource = int(all.Val()), int(from.Val())
		return nil
	})
	return total, fromSource, err
}

func (s *RedisStore) slotSourceKey(src string) string { return s.prefix + "slot-src:" + src }

// AddSlotSource records that portal pid's slot was opened from src.
func (s *RedisStore) AddSlotSource(src, pid string) error {
	return s.do("add-slot-source", func(ctx context.Context) error {
		return s.rdb.SAdd(ctx, s.slotSourceKey(src), pid).Err()
	})
}

// RemoveSlotSource forgets the slots of pids opened from src.
func (s *RedisStore) RemoveSlotSource(src string, pids ...string) error {
	if len(pids) == 0 {
		return nil
	}
	members := make([]any, len(pids))
	for i, p := range pids {
		members[i] = p
	}
	return s.do("remove-slot-source", func(ctx context.Context) error {
		return s.rdb.SRem(ctx, s.slotSourceKey(src), members...).Err()
	})
}

// nodeEntry is a node's announcement in the store.
type nodeEntry struct {
	Addrs []string `json:"addrs"`
	Seen  int64    `json:"seen"` // unix milliseconds
}

// Announce tells the other nodes on this store where this one is.
func (s *RedisStore) Announce(self peer.AddrInfo) error {
	e := nodeEntry{Seen: time.Now().UnixMilli()}
	for _, a := range self.Addrs {
		e.Addrs = append(e.Addrs, a.String())
	}
	v, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return s.do("announce", func(ctx context.Context) error {
		return s.rdb.HSet(ctx, s.prefix+"nodes", self.ID.String(), v).Err()
	})
}

// Nodes lists the nodes that announced themselves within fresh, and
// forgets those silent for ten times as long.
func (s *RedisStore) Nodes(fresh time.Duration) ([]peer.AddrInfo, error) {
	var all map[string]string
	err := s.do("nodes", func(ctx context.Context) (err error) {
		all, err = s.rdb.HGetAll(ctx, s.prefix+"nodes").Result()
		return err
	})
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var out []peer.AddrInfo
	var stale []string
	for k, v := range all {
		var e nodeEntry
		id, err := peer.Decode(k)
		if err != nil || json.Unmarshal([]byte(v), &e) != nil {
			stale = append(stale, k)
			continue
		}
		age := now.Sub(time.UnixMilli(e.Seen))
		if age > 10*fresh {
			stale = append(stale, k)
		}
		if age > fresh {
			continue
		}
		info := peer.AddrInfo{ID: id}
		for _, a := range e.Addrs {
			if m, err := ma.NewMultiaddr(a); err == nil {
				info.Addrs = append(info.Addrs, m)
			}
		}
		out = append(out, info)
	}
	if len(stale) > 0 {
		_ = s.do("forget-nodes", func(ctx context.Context) error {
			return s.rdb.HDel(ctx, s.prefix+"nodes", stale...).Err()
		})
	}
	return out, nil
}

// Codes is the code registry kept in this store.
func (s *RedisStore) Codes(limits RegistryLimits, clock Clock) Codes {
	if clock == nil {
		clock = systemClock{}
	}
	return &RedisCodes{s: s, limits: limits, clock: clock}
}

// RedisCodes is a code registry in Redis, shared by every node that uses
// the same store. Each code is a hash that expires at the end of its
// tombstone time; sorted sets index the codes by lookup length (for the
// number of digits new codes need), by owner and by source (for their
// limits), scored by when each entry stops counting.
type RedisCodes struct {
	s      *RedisStore
	limits RegistryLimits
	clock  Clock
}

var _ Codes = (*RedisCodes)(nil)

func (c *RedisCodes) codeKey(lookup string) string { return c.s.prefix + "code:" + lookup }
func (c *RedisCodes) lenKey(n int) string          { return c.s.prefix + "len:" + strconv.Itoa(n) }
func (c *RedisCodes) ownerKey(p peer.ID) string    { return c.s.prefix + "owner:" + string(p) }
func (c *RedisCodes) sourceKey(src string) string  { return c.s.prefix + "src:" + src }

// registerScript creates a code if its lookup is free, or updates the
// caller's own live code. KEYS: code, owner index, source index, then
// the length indexes from MinLookupDigits to MaxLookupDigits. ARGV:
// lookup, envelope, owner, source, expiry (unix s), seq (20 digits, so
// that strings compare as numbers: Lua's numbers are doubles), now (ms),
// tombstone (ms), max codes, max per owner, max per source, MinLookupDigits.
var registerScript = redis.NewScript(`
local code, ownerKey, srcKey = KEYS[1], KEYS[2], KEYS[3]
local lookup, env, owner, src, seq = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[6]
local exp, now, tomb = tonumber(ARGV[5]), tonumber(ARGV[7]), tonumber(ARGV[8])
local expMs = exp * 1000
local purge = expMs + tomb
local lenKey = KEYS[4 + #lookup - tonumber(ARGV[12])]
local function extend(key, at)
  local left = redis.call('PTTL', key)
  if left < 0 or now + left < at then redis.call('PEXPIREAT', key, at) end
end
local cur = redis.call('HMGET', code, 'owner', 'ended', 'seq', 'src')
if cur[1] then
  if cur[1] ~= owner then return {'taken', '0'} end
  if cur[2] and cur[2] ~= '' then return {'ended', cur[2]} end
  if cur[3] >= seq then return {'stale', cur[3]} end
  redis.call('HSET', code, 'env', env, 'exp', exp, 'seq', seq)
  redis.call('PEXPIREAT', code, purge)
  redis.call('ZADD', lenKey, purge, lookup)
  redis.call('ZADD', ownerKey, expMs, lookup)
  extend(ownerKey, expMs)
  if src ~= '' and src == cur[4] then
    redis.call('ZADD', srcKey, expMs, lookup)
    extend(srcKey, expMs)
  end
  return {'ok', '0'}
end
local minDigits, total, digits = nil, 0, tonumber(ARGV[12])
for i = 4, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  local n = redis.call('ZCARD', KEYS[i])
  total = total + n
  if not minDigits and i < #KEYS and n < (10 ^ digits) / 2 then minDigits = digits end
  digits = digits + 1
end
if not minDigits then minDigits = digits - 1 end
if #lookup < minDigits then return {'short', tostring(minDigits)} end
if total >= tonumber(ARGV[9]) then return {'full', 'codes'} end
redis.call('ZREMRANGEBYSCORE', ownerKey, '-inf', now)
if redis.call('ZCARD', ownerKey) >= tonumber(ARGV[10]) then return {'full', 'owner'} end
if src ~= '' then
  redis.call('ZREMRANGEBYSCORE', srcKey, '-inf', now)
  if redis.call('ZCARD', srcKey) >= tonumber(ARGV[11]) then return {'full', 'source'} end
end
redis.call('HSET', code, 'env', env, 'owner', owner, 'src', src, 'exp', exp, 'seq', seq)
redis.call('PEXPIREAT', code, purge)
redis.call('ZADD', lenKey, purge, lookup)
redis.call('ZADD', ownerKey, expMs, lookup)
extend(ownerKey, expMs)
if src ~= '' then
  redis.call('ZADD', srcKey, expMs, lookup)
  extend(srcKey, expMs)
end
return {'ok', '0'}
`)

// Register stores a signed code record (see Codes).
func (c *RedisCodes) Register(from peer.ID, src string, envelope []byte) (RegisterResult, error) {
	now := c.clock.Now()
	rec, err := checkRegister(from, envelope, now, c.limits.MaxTTL)
	if err != nil {
		return RegisterResult{}, err
	}
	keys := []string{c.codeKey(rec.Lookup), c.ownerKey(from), c.sourceKey(src)}
	for n := shortcode.MinLookupDigits; n <= shortcode.MaxLookupDigits; n++ {
		keys = append(keys, c.lenKey(n))
	}
	var out []string
	err = c.s.do("register", func(ctx context.Context) (err error) {
		out, err = registerScript.Run(ctx, c.s.rdb, keys, rec.Lookup, envelope, string(from), src,
			rec.Expires, fmt.Sprintf("%020d", rec.Seq), now.UnixMilli(), c.limits.Tombstone.Milliseconds(),
			c.limits.MaxCodes, c.limits.MaxPerOwner, c.limits.MaxPerSource, shortcode.MinLookupDigits).StringSlice()
		return err
	})
	if err != nil {
		return RegisterResult{}, err
	}
	return registerOutcome(out, c.limits)
}

// registerOutcome turns the script's answer into the registry's result.
func registerOutcome(out []string, limits RegistryLimits) (RegisterResult, error) {
	if len(out) != 2 {
		return RegisterResult{}, fmt.Errorf("%w: odd answer %q", ErrUnavailable, out)
	}
	switch out[0] {
	case "ok":
		return RegisterResult{}, nil
	case "taken":
		return RegisterResult{}, ErrTaken
	case "ended":
		return RegisterResult{}, reasonErr(Reason(out[1]))
	case "stale":
		return RegisterResult{}, fmt.Errorf("%w: stale record (seq <= %s)", ErrBadRequest, strings.TrimLeft(out[1], "0"))
	case "short":
		n, _ := strconv.Atoi(out[1])
		return RegisterResult{MinDigits: n}, ErrTaken
	case "full":
		switch out[1] {
		case "owner":
			return RegisterResult{}, fmt.Errorf("%w: %d live codes for one peer", ErrFull, limits.MaxPerOwner)
		case "source":
			return RegisterResult{}, fmt.Errorf("%w: %d live codes from one address", ErrFull, limits.MaxPerSource)
		}
		return RegisterResult{}, ErrFull
	}
	return RegisterResult{}, fmt.Errorf("%w: odd answer %q", ErrUnavailable, out)
}

// Resolve returns the signed record of a lookup (see Codes).
func (c *RedisCodes) Resolve(lookup string) ([]byte, error) {
	if !shortcode.ValidLookup(lookup) {
		return nil, fmt.Errorf("%w: bad lookup", ErrBadRequest)
	}
	var vals []any
	err := c.s.do("resolve", func(ctx context.Context) (err error) {
		vals, err = c.s.rdb.HMGet(ctx, c.codeKey(lookup), "env", "ended", "exp").Result()
		return err
	})
	if err != nil {
		return nil, err
	}
	env, _ := vals[0].(string)
	ended, _ := vals[1].(string)
	exp, _ := vals[2].(string)
	expires, _ := strconv.ParseInt(exp, 10, 64)
	switch {
	case env == "":
		return nil, ErrNotFound
	case ended != "":
		return nil, reasonErr(Reason(ended))
	case c.clock.Now().Unix() >= expires:
		return nil, ErrExpired
	}
	return []byte(env), nil
}

// cancelScript ends a code. KEYS: code, owner index, length index.
// ARGV: signer, reason, now (ms), tombstone (ms), lookup. It answers
// with the code's source, whose index the caller then updates.
var cancelScript = redis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'owner', 'ended', 'exp', 'src')
if not cur[1] then return {'not_found', ''} end
if cur[1] ~= ARGV[1] then return {'forbidden', ''} end
if cur[2] and cur[2] ~= '' then return {'ok', ''} end
local ended = math.floor(tonumber(ARGV[3]) / 1000)
redis.call('HSET', KEYS[1], 'ended', ARGV[2], 'ended_at', ended)
local purge = math.min(tonumber(cur[3]), ended) * 1000 + tonumber(ARGV[4])
redis.call('PEXPIREAT', KEYS[1], purge)
redis.call('ZADD', KEYS[3], 'XX', purge, ARGV[5])
redis.call('ZREM', KEYS[2], ARGV[5])
return {'ok', cur[4] or ''}
`)

// Cancel ends a code for the reason its owner signed (see Codes).
func (c *RedisCodes) Cancel(from peer.ID, envelope []byte) error {
	rec, signer, err := checkCancel(envelope)
	if err != nil {
		return err
	}
	if signer != from {
		return ErrForbidden
	}
	keys := []string{c.codeKey(rec.Lookup), c.ownerKey(signer), c.lenKey(len(rec.Lookup))}
	var out []string
	err = c.s.do("cancel", func(ctx context.Context) (err error) {
		out, err = cancelScript.Run(ctx, c.s.rdb, keys, string(signer), string(rec.Reason),
			c.clock.Now().UnixMilli(), c.limits.Tombstone.Milliseconds(), rec.Lookup).StringSlice()
		return err
	})
	if err != nil {
		return err
	}
	switch {
	case len(out) != 2:
		return fmt.Errorf("%w: odd answer %q", ErrUnavailable, out)
	case out[0] == "not_found":
		return ErrNotFound
	case out[0] == "forbidden":
		return ErrForbidden
	case out[1] != "":
		// The source's count drops now rather than at expiry; a failure
		// here only holds one place of its quota until then.
		_ = c.s.do("cancel-source", func(ctx context.Context) error {
			return c.s.rdb.ZRem(ctx, c.sourceKey(out[1]), rec.Lookup).Err()
		})
	}
	return nil
}

// Sweep has nothing to do: Redis expires ended codes itself, and each
// registration trims the indexes it reads.
func (c *RedisCodes) Sweep() (int, error) { return 0, nil }

// Count is how many records the store holds, tombstones included.
func (c *RedisCodes) Count() (int, error) {
	total := 0
	err := c.s.do("count", func(ctx context.Context) error {
		pipe := c.s.rdb.Pipeline()
		var cmds []*redis.IntCmd
		for n := shortcode.MinLookupDigits; n <= shortcode.MaxLookupDigits; n++ {
			cmds = append(cmds, pipe.ZCount(ctx, c.lenKey(n), strconv.FormatInt(c.clock.Now().UnixMilli(), 10), "+inf"))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return err
		}
		for _, cmd := range cmds {
			total += int(cmd.Val())
		}
		return nil
	})
	return total, err
}

// Close does nothing: the store is closed with the node.
func (c *RedisCodes) Close() error { return nil }
