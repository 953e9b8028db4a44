package rendezvous

import (
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// Rate is a token bucket: Per requests a second on average, Burst at once.
type Rate struct {
	Per   float64
	Burst int
}

// keyedLimiter gives each key (a peer ID, an IP) its own token bucket. The
// buckets live in a bounded LRU so a flood of new keys cannot exhaust
// memory; a key pushed out starts again with a full bucket, which costs an
// attacker more keys than it gains.
type keyedLimiter struct {
	rate    Rate
	buckets *lru.Cache[string, *rate.Limiter]
}

func newKeyedLimiter(r Rate, size int) *keyedLimiter {
	c, err := lru.New[string, *rate.Limiter](size)
	if err != nil {
		panic(err) // only for size <= 0, a programming error
	}
	return &keyedLimiter{rate: r, buckets: c}
}

// reserve takes a token for key at now, or says how long to wait for one.
func (k *keyedLimiter) reserve(key string, now time.Time) (ok bool, wait time.Duration) {
	if k.rate.Per <= 0 {
		return true, 0
	}
	l, found := k.buckets.Get(key)
	if !found {
		l = rate.NewLimiter(rate.Limit(k.rate.Per), k.rate.Burst)
		k.buckets.Add(key, l)
	}
	if l.AllowN(now, 1) {
		return true, 0
	}
	res := l.ReserveN(now, 1)
	wait = res.DelayFrom(now)
	res.CancelAt(now)
	return false, wait
}
