package pairing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/schollz/pake/v3"

	"assist/shortcode"
)

// The PAKE is SPAKE2 on P-256 from github.com/schollz/pake/v3 (the module
// croc uses; the only maintained Go PAKE module our proxy serves). It knows
// nothing of identities, so we bind both peer IDs in two places:
//
//   - the password it runs on is SHA-256 over a domain tag, the code's
//     lookup and secret, the joiner's and the owner's peer IDs. A party that
//     talks to someone other than the peer it thinks (a rendezvous node
//     relaying the exchange to a third peer) computes another password, and
//     the exchange fails;
//   - the key confirmation MACs cover both PAKE messages and both peer IDs.
//
// libp2p's Noise handshake already authenticates the peer IDs of the
// stream, so each side knows whom it is talking to.

const curve = "p256"

func password(code shortcode.Code, joiner, owner peer.ID) []byte {
	h := sha256.New()
	for _, part := range []string{"assist/pair/v2", code.Lookup, code.Secret, string(joiner), string(owner)} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

func confirmation(key []byte, role string, joiner, owner peer.ID, msgA, msgB []byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, part := range [][]byte{[]byte(role), []byte(joiner), []byte(owner), msgA, msgB} {
		var n [8]byte
		for i, l := 0, uint64(len(part)); i < 8; i++ {
			n[i] = byte(l >> (8 * i))
		}
		m.Write(n[:])
		m.Write(part)
	}
	return m.Sum(nil)
}

// pakeMessage is the public part of a pake.Pake as its JSON carries it. We
// decode it ourselves first: the module dereferences missing coordinates
// and would panic on a hostile message.
type pakeMessage struct {
	Role           int
	Xᵤ, Xᵥ, Yᵤ, Yᵥ *big.Int
}

var errBadPake = errors.New("malformed PAKE message")

// checkPakeMessage refuses a message the module must not see: the wrong
// role, or a missing coordinate of the point that role sends.
func checkPakeMessage(b []byte, wantRole int) error {
	var m pakeMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("%w: %v", errBadPake, err)
	}
	if m.Role != wantRole {
		return fmt.Errorf("%w: role %d", errBadPake, m.Role)
	}
	x, y := m.Xᵤ, m.Xᵥ
	if wantRole == 1 {
		x, y = m.Yᵤ, m.Yᵥ
	}
	if x == nil || y == nil || x.Sign() < 0 || y.Sign() < 0 || x.BitLen() > 256 || y.BitLen() > 256 {
		return fmt.Errorf("%w: bad point", errBadPake)
	}
	return nil
}

// update feeds the peer's message to p, turning any panic inside the module
// into an error.
func update(p *pake.Pake, msg []byte, peerRole int) (key []byte, err error) {
	if err := checkPakeMessage(msg, peerRole); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errBadPake, r)
		}
	}()
	if err := p.Update(msg); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadPake, err)
	}
	return p.SessionKey()
}
