package handshake

import (
	"errors"
	"io"
	"slices"
	"sync"
	"time"
)

// Simultaneous connects. Two nodes that learn of each other at the same moment (global tells every node of a
// partition about the nodes of another) both connect, and each accepts the other's connection too: two
// handshakes, of which only one may become the connection, or each node drops one and the pair loses both.
// OTP's net_kernel settles it during the handshake with one pending connection per peer, and so does this
// node: a handshake claims its peer (its attempt) from the start (a dial) or from the peer's send_name (an
// accept) until the transport serves the connection or the handshake fails. An accept that finds a dial of
// the same peer in progress answers send_name as dist_util does:
//
//   - nok, when this node's name is the greater: its own dial wins; the peer's dial waits for this node's
//     accept of its connection to take over, and fails then;
//   - ok_simultaneous otherwise: the accept takes the claim and this node's dial fails (its socket is closed);
//   - alive, when the peer is connected already (or a handshake with it has finished and waits to be served):
//     the peer answers true when its dial still holds its claim, and the new connection replaces the old one;
//
// an accept that finds another accept of the peer in progress is refused. A dial that finds a claim on its
// peer fails at once, before it sends anything; Pending tells the node what to wait for instead.

// Why a handshake gives way to another one of the same pair of nodes.
var (
	// errLostRace: a simultaneous connect was settled in favour of the other connection.
	errLostRace = errors.New("the connection the other way wins (simultaneous connect)")
	// errBusy: another handshake with the peer is in progress, or the peer is connected.
	errBusy = errors.New("a connection to the peer is up or being made")
)

// isSettled tells whether err is a handshake that gave way to another connection with the same peer: the
// other side's of a simultaneous connect, a handshake in progress, or a connection already up.
func isSettled(err error) bool {
	return errors.Is(err, errLostRace) || errors.Is(err, errBusy)
}

// attempt is a handshake that claims its peer: it may become the node's connection to it.
type attempt struct {
	s     *attempts // the table it claims its peer in
	peer  string
	dial  bool
	sock  io.Closer     // a dial's socket, closed when an accept takes the claim from it; may be nil
	lost  chan struct{} // closed when an accept took the claim from this dial
	done  chan struct{} // closed when the attempt ends: served, failed, or lost
	once  sync.Once
	shook time.Time // when its handshake finished; zero before. Guarded by attempts.mu
}

// end closes a.done; it may be called more than once.
func (a *attempt) end() {
	a.once.Do(func() { close(a.done) })
}

// attempts are a node's claims, one per peer at most.
type attempts struct {
	mu    sync.Mutex
	m     map[string]*attempt
	peers PeerSet // the peers connected; nil until the node serves connections
}

// staleClaim is how long a finished handshake keeps its claim without being served: ergo drops a connection
// it cannot register without telling the transport, and its claim must not outlive it.
const staleClaim = Timeout

// live returns the claim on peer, forgetting one that finished its handshake more than staleClaim ago.
// mu is held.
func (s *attempts) live(peer string) *attempt {
	a := s.m[peer]
	if a != nil && !a.shook.IsZero() && time.Since(a.shook) > staleClaim {
		delete(s.m, peer)
		a.end()
		return nil
	}
	return a
}

// connected tells whether peer has a connection up. mu is held.
func (s *attempts) connected(peer string) bool {
	return s.peers != nil && slices.Contains(s.peers.Nodes(), peer)
}

// claim makes a the claim on its peer. mu is held.
func (s *attempts) claim(a *attempt) *attempt {
	a.s = s
	if s.m == nil {
		s.m = make(map[string]*attempt)
	}
	s.m[a.peer] = a
	return a
}

// setPeers tells the claims which peers are connected.
func (s *attempts) setPeers(peers PeerSet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peers = peers
}

// dial claims peer for a connection this node opens on sock; it fails with errBusy when there is a claim on
// peer already, or a connection.
func (s *attempts) dial(peer string, sock io.Closer) (*attempt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live(peer) != nil || s.connected(peer) {
		return nil, errBusy
	}
	return s.claim(&attempt{peer: peer, dial: true, sock: sock, lost: make(chan struct{}), done: make(chan struct{})}), nil
}

// accept claims peer, whose send_name came to this node named me, and returns the status to answer with (see
// the top of this file); "" refuses the connection without a status, and with it and nok there is no claim.
func (s *attempts) accept(me, peer string) (string, *attempt) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := &attempt{peer: peer, done: make(chan struct{})}
	cur := s.live(peer)
	switch {
	case cur != nil && !cur.shook.IsZero():
		return "alive", s.claim(a)
	case cur != nil && !cur.dial:
		return "", nil
	case cur != nil && me > peer:
		return "nok", nil
	case cur != nil:
		close(cur.lost)
		if cur.sock != nil {
			_ = cur.sock.Close()
		}
		cur.end()
		return "ok_simultaneous", s.claim(a)
	case s.connected(peer):
		return "alive", s.claim(a)
	}
	return "ok", s.claim(a)
}

// finished marks a's handshake done: it keeps its claim until the transport serves it (OnServed). a may be nil.
func (a *attempt) finished() {
	if a == nil {
		return
	}
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	a.shook = time.Now()
}

// release ends a and its claim, if it still holds it. a may be nil.
func (a *attempt) release() {
	if a == nil {
		return
	}
	a.s.mu.Lock()
	if a.s.m[a.peer] == a {
		delete(a.s.m, a.peer)
	}
	a.s.mu.Unlock()
	a.end()
}

// isLost tells whether an accept took a's claim.
func (a *attempt) isLost() bool {
	select {
	case <-a.lost:
		return true
	default:
		return false
	}
}

// pending returns a channel closed when the claim on peer ends, or nil when there is none.
func (s *attempts) pending(peer string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.live(peer); a != nil {
		return a.done
	}
	return nil
}
