package rendezvous

import (
	"net"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// Rate is a token bucket: Per requests a second on average, Burst at once.
type Rate struct {
	Per   float64
	Burst int
}

// source is where a request comes from, as the rate limits count it: a
// host (an IPv4 address, or the /64 an IPv6 user usually holds) within a
// network (the /56 an IPv6 provider hands one customer, so that a /64 per
// request buys nothing; an IPv4 address is its own network).
type source struct{ host, network string }

// relayedSource is any peer that reached the node through its own relay.
var relayedSource = source{host: "relayed", network: "relayed"}

func sourceOf(ip net.IP) source {
	if ip4 := ip.To4(); ip4 != nil {
		return source{host: ip4.String(), network: ip4.String()}
	}
	return source{host: ip.Mask(net.CIDRMask(64, 128)).String() + "/64", network: ip.Mask(net.CIDRMask(56, 128)).String() + "/56"}
}

// lookupLimits are the buckets every lookup (over libp2p or on the join
// page) takes a token from: its peer's, its host's and its network's.
type lookupLimits struct{ peer, host, network *keyedLimiter }

func (l *lookupLimits) allow(peerKey string, src source, now time.Time) (bool, time.Duration) {
	if peerKey != "" {
		if ok, wait := l.peer.reserve(peerKey, now); !ok {
			return false, wait
		}
	}
	if ok, wait := l.host.reserve(src.host, now); !ok {
		return false, wait
	}
	return l.network.reserve(src.network, now)
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
