package handshake

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ergo-services/ergo/lib"
	ergonode "github.com/ergo-services/ergo/node"
	"github.com/ergo-services/ergo/proto/dist"
	"github.com/hornbeam-go/hornbeam/internal/epmd"
	"github.com/hornbeam-go/hornbeam/internal/loglimit"
)

// Limits of the acceptor.
const (
	// maxHandshakes is how many handshakes may be in progress at once; a new connection beyond it drops the
	// oldest one.
	maxHandshakes = 256
	// maxHandshakesPerHost is how many of them may come from one source address; a new connection from an
	// address at its limit drops that address's oldest one.
	maxHandshakesPerHost = 32
	// handOffTimeout bounds the dial to ergo's loopback listener.
	handOffTimeout = 2 * time.Second
	// staleTimeout bounds the wait for ergo to let go of a connection that a new one from the same peer replaces.
	staleTimeout = 2 * time.Second
	// keepAlivePeriod is the TCP keep-alive of accepted connections, as ergo sets it.
	keepAlivePeriod = 15 * time.Second
	// defaultListenBegin and defaultListenEnd are the ports tried when Options leaves them zero, as in ergo.
	defaultListenBegin, defaultListenEnd = 15000, 65000
	// loopback is where ergo's own listener waits for the acceptor's hand-offs.
	loopback = "127.0.0.1"
)

// errNotHandedOff refuses a connection to ergo's loopback listener that the acceptor did not make.
var errNotHandedOff = errors.New("node: connection to the hand-off port not made by this node")

// Acceptor owns the node's listening port. ergo accepts and handshakes one socket at a time, so a few silent
// sockets would keep real peers waiting; the acceptor instead handshakes each connection on its own goroutine,
// within Timeout from its start, at most maxHandshakes at once and maxHandshakesPerHost per source
// address; at a limit the oldest handshake makes room, so that a real peer, which finishes in a few round
// trips, always gets its turn.
//
// ergo offers no entry point for a connection handshaked elsewhere, so the acceptor hands each one over through
// ergo's own listener, moved to a loopback port that EPMD does not know: it dials that port and records what it
// handshaked under the dial's local address; ergo accepts the loopback socket and calls Handshake.Accept, which
// finds the record by the remote address without reading anything, and the transport serves the peer's socket
// in place of the loopback one (ServedConn). The loopback socket stays open as long as the connection: when
// ergo closes it (disconnect, lost race with a connection the other way, node stop) the acceptor closes the
// peer's socket, and when the connection ends ergo closes it.
type Acceptor struct {
	log    *slog.Logger
	tls    *tls.Config
	ln     net.Listener
	port   uint16
	limit  int // maxHandshakes
	per    int // maxHandshakesPerHost
	hs     *Handshake
	cookie string
	peers  PeerSet

	internal string         // ergo's loopback listener, host:port; set when ergo registers the node (portRegistrar)
	refusals loglimit.Limit // refused handshakes logged, so that connection after connection cannot flood the log

	mu       sync.Mutex
	inflight []*pending            // handshakes in progress, oldest first
	hosts    map[string]int        // how many of them each source address has
	live     map[net.Conn]struct{} // the acceptor's ends of handed-off loopback sockets
	closed   bool

	handMu sync.Mutex                           // held across a hand-off's dial, so that take finds what that dial made
	handed map[string]ergonode.HandshakeDetails // by the loopback address ergo sees as the remote one

	done chan struct{}
	wg   sync.WaitGroup
}

// pending is a handshake in progress.
type pending struct {
	conn    net.Conn
	host    string
	evicted bool // dropped to make room; guarded by Acceptor.mu
}

// Config says where the acceptor listens and how it handshakes.
type Config struct {
	// Name is the node's name, name@host; the acceptor listens on host.
	Name string
	// ListenBegin and ListenEnd bound the port (15000..65000 when zero).
	ListenBegin, ListenEnd uint16
	// TLS, when set, makes every connection use TLS.
	TLS *tls.Config
	// Logger receives refused handshakes and accept failures.
	Logger *slog.Logger
}

// Listen listens on the first free port from cfg.ListenBegin to cfg.ListenEnd on the host of the node's name, as
// ergo would; an error other than a port in use ends the search. Nothing is accepted before Start.
func Listen(cfg Config) (*Acceptor, error) {
	_, host, _ := strings.Cut(cfg.Name, "@")
	begin, end := int(cfg.ListenBegin), int(cfg.ListenEnd)
	if begin == 0 {
		begin = defaultListenBegin
	}
	if end == 0 {
		end = defaultListenEnd
	}
	lc := net.ListenConfig{KeepAlive: keepAlivePeriod}
	for port := begin; port <= end; port++ {
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		ln, err := lc.Listen(context.Background(), "tcp", addr)
		if errors.Is(err, syscall.EADDRINUSE) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("node: listen on %s: %w", addr, err)
		}
		return &Acceptor{
			log:    cfg.Logger,
			tls:    cfg.TLS,
			ln:     ln,
			port:   uint16(port),
			limit:  maxHandshakes,
			per:    maxHandshakesPerHost,
			hosts:  make(map[string]int),
			live:   make(map[net.Conn]struct{}),
			handed: make(map[string]ergonode.HandshakeDetails),
			done:   make(chan struct{}),
		}, nil
	}
	return nil, fmt.Errorf("node: no free port in %d..%d on %s", begin, end, host)
}

// ErgoListener is ergo's listener: on a loopback port, where only hand-offs come, without TLS (the acceptor
// did it; an empty config turns ergo's off).
func (a *Acceptor) ErgoListener() ergonode.Listener {
	return ergonode.Listener{Hostname: loopback, TLS: &tls.Config{}}
}

// Registrar is ergo's default registrar on epmd.Port (the system EPMD, which Register starts when none runs; in
// this process when there is no epmd program) with the acceptor's port.
func (a *Acceptor) Registrar() ergonode.Registrar {
	return portRegistrar{Registrar: dist.CreateRegistrarWithLocalEPMD("", epmd.Port()), a: a}
}

// portRegistrar wraps ergo's registrar so that EPMD gets the acceptor's port, the acceptor learns which
// loopback port ergo's listener took, and ergo's dials go through the handshake's Dialer for their peer.
type portRegistrar struct {
	ergonode.Registrar
	a *Acceptor
}

// Resolve finds node's port with EPMD and routes ergo's dial to it through the handshake that claims node.
func (r portRegistrar) Resolve(node string) (ergonode.Route, error) {
	route, err := r.Registrar.Resolve(node)
	if err == nil && r.a.hs != nil {
		route.Options.Handshake = r.a.hs.Dialer(node)
	}
	return route, err
}

// Register records ergo's listener port and registers the node with the acceptor's, with the system EPMD
// started first when none runs (see package epmd); without an epmd program, ergo's embedded one serves.
func (r portRegistrar) Register(ctx context.Context, name string, o ergonode.RegisterOptions) error {
	if err := epmd.Ensure(); err != nil {
		r.a.log.Warn("node: no system EPMD; this node serves one that stops with it", "error", err)
	}
	r.a.internal = net.JoinHostPort(loopback, strconv.Itoa(int(o.Port)))
	o.Port = r.a.port
	o.EnableTLS = r.a.tls != nil
	return r.Registrar.Register(ctx, name, o)
}

// PeerSet is the part of ergo's node the acceptor uses: the peers connected and a way to drop one.
type PeerSet interface {
	Nodes() []string
	Disconnect(node string) error
}

// Start accepts connections and handshakes them with cookie, by the Handshake made for a (New), until Stop;
// peers are ergo's connections.
func (a *Acceptor) Start(cookie string, peers PeerSet) {
	a.cookie, a.peers = cookie, peers
	a.hs.claims.setPeers(peers)
	a.wg.Add(1)
	go a.serve()
}

// Stop closes the port, ends the handshakes in progress and the hand-offs (and so the connections they
// serve), and waits for their goroutines. It may be called more than once, and before Start.
func (a *Acceptor) Stop() {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.done)
		_ = a.ln.Close()
		for _, p := range a.inflight {
			_ = p.conn.Close()
		}
		for lc := range a.live {
			_ = lc.Close()
		}
	}
	a.mu.Unlock()
	a.wg.Wait()
}

// Addr is the address the node listens on.
func (a *Acceptor) Addr() net.Addr { return a.ln.Addr() }

// Open reports how many handshakes are in progress and how many handed-off connections are still open.
func (a *Acceptor) Open() (handshakes, handOffs int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.inflight), len(a.live)
}

// serve accepts until the listener closes. An error such as running out of file descriptors is retried after
// a pause that doubles up to a second, as net/http does, rather than in a busy loop.
func (a *Acceptor) serve() {
	defer a.wg.Done()
	var pause time.Duration
	for {
		c, err := a.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			a.log.Warn("node: accept failed", "error", err, "retry_in", pause)
			select {
			case <-a.done:
				return
			case <-time.After(pause):
			}
			continue
		}
		pause = 0
		a.wg.Add(1)
		go a.handle(c)
	}
}

// handle handshakes c, hands it to ergo, and closes it when ergo lets go of the hand-off.
func (a *Acceptor) handle(c net.Conn) {
	defer a.wg.Done()
	remote := c.RemoteAddr()
	p, ok := a.track(c)
	if !ok {
		_ = c.Close()
		return
	}
	sock, d, err := a.handshake(c)
	evicted := a.untrack(p)
	if err == nil && evicted {
		err = net.ErrClosed
	}
	if err != nil {
		a.logRefused(remote, err, evicted)
		_ = c.Close()
		return
	}
	// The claim on the peer ends when the transport serves the connection, or at the latest with the hand-off.
	defer peerOf(d).claim.release()
	if err := a.replaceStale(d.Name); err != nil {
		a.log.Warn("node: cannot replace the old connection", "peer", d.Name, "error", err)
		_ = sock.Close()
		return
	}
	lc, key, err := a.handOff(sock, d)
	if err != nil {
		a.log.Warn("node: cannot hand a connection to ergo", "peer", d.Name, "error", err)
		_ = sock.Close()
		return
	}
	// ergo never writes to the loopback socket: a read ends when either side closes it.
	var b [1]byte
	_, _ = lc.Read(b[:])
	a.handMu.Lock()
	delete(a.handed, key)
	a.handMu.Unlock()
	_ = sock.Close()
	_ = lc.Close()
	a.mu.Lock()
	delete(a.live, lc)
	a.mu.Unlock()
}

// handshake runs TLS when configured, then the distribution handshake, within Timeout of its start.
// It returns the socket to serve.
func (a *Acceptor) handshake(c net.Conn) (net.Conn, ergonode.HandshakeDetails, error) {
	var d ergonode.HandshakeDetails
	if err := c.SetDeadline(time.Now().Add(Timeout)); err != nil {
		return nil, d, err
	}
	sock := c
	if a.tls != nil {
		tc := tls.Server(c, a.tls)
		if err := tc.Handshake(); err != nil {
			return nil, d, fmt.Errorf("node: TLS handshake: %w", err)
		}
		sock = tc
	}
	d, err := a.hs.accept(newHSFramer(sock, a.tls != nil), a.cookie)
	if err != nil {
		return nil, d, err
	}
	return sock, d, c.SetDeadline(time.Time{})
}

// logRefused logs why a peer's handshake failed, within loglimit's bound (the next line logged says how many
// were skipped): a wrong cookie as a warning, a
// broken protocol as info, and at debug level what silent, slow or evicted sockets cause.
func (a *Acceptor) logRefused(remote net.Addr, err error, evicted bool) {
	ok, skipped := a.refusals.Allow(time.Now())
	if !ok {
		return
	}
	attrs := []any{"remote", remote}
	if skipped > 0 {
		attrs = append(attrs, "skipped", skipped)
	}
	switch {
	case isCookieError(err):
		a.log.Warn(err.Error(), attrs...)
	case evicted:
		a.log.Debug("node: handshake dropped to make room for newer ones", attrs...)
	case isSettled(err):
		a.log.Debug("node: connection given up for the one the other way", append(attrs, "error", err)...)
	case errors.Is(err, os.ErrDeadlineExceeded):
		a.log.Debug("node: handshake timed out", append(attrs, "after", Timeout)...)
	case errors.Is(err, errMalformed):
		a.log.Info("node: handshake refused", append(attrs, "error", err)...)
	default:
		a.log.Debug("node: handshake abandoned", append(attrs, "error", err)...)
	}
}

// track counts c among the handshakes in progress, first dropping the oldest one of its source address, or
// the oldest of all, when a limit is reached. It reports false once the acceptor is stopped.
func (a *Acceptor) track(c net.Conn) (*pending, bool) {
	host := c.RemoteAddr().String()
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		host = ta.IP.String()
	}
	p := &pending{conn: c, host: host}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, false
	}
	switch {
	case a.hosts[host] >= a.per:
		a.evictOldest(func(q *pending) bool { return q.host == host })
	case len(a.inflight) >= a.limit:
		a.evictOldest(func(*pending) bool { return true })
	}
	a.inflight = append(a.inflight, p)
	a.hosts[host]++
	return p, true
}

// evictOldest closes the oldest handshake in progress that match accepts. a.mu is held.
func (a *Acceptor) evictOldest(match func(*pending) bool) {
	for _, q := range a.inflight {
		if match(q) {
			q.evicted = true
			_ = q.conn.Close()
			a.forget(q)
			return
		}
	}
}

// untrack ends p's count, unless eviction already did; it reports whether p was evicted.
func (a *Acceptor) untrack(p *pending) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !p.evicted {
		a.forget(p)
	}
	return p.evicted
}

// forget removes p from the handshakes in progress. a.mu is held.
func (a *Acceptor) forget(p *pending) {
	for i, q := range a.inflight {
		if q == p {
			a.inflight = append(a.inflight[:i], a.inflight[i+1:]...)
			break
		}
	}
	if a.hosts[p.host]--; a.hosts[p.host] == 0 {
		delete(a.hosts, p.host)
	}
}

// replaceStale drops this node's connection to peer, if it has one, and waits until ergo has let go of it, so
// that ergo takes the new one. A peer that finished a handshake has no other connection to this node
// (simultaneous connects are settled during the handshake, see pending.go, and the peer answered the alive
// status with true), so the old one is dead and only not noticed yet: the peer restarted or dropped it.
func (a *Acceptor) replaceStale(peer string) error {
	if !slices.Contains(a.peers.Nodes(), peer) {
		return nil
	}
	a.log.Debug("node: a new connection replaces the old one", "peer", peer)
	_ = a.peers.Disconnect(peer)
	deadline := time.NewTimer(staleTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for slices.Contains(a.peers.Nodes(), peer) {
		select {
		case <-tick.C:
		case <-deadline.C:
			return fmt.Errorf("node: the old connection to %s still stands after %v", peer, staleTimeout)
		case <-a.done:
			return net.ErrClosed
		}
	}
	return nil
}

// handOff dials ergo's loopback listener for sock, recording d, with sock in its peerInfo, under the dial's
// local address for take. It returns the acceptor's end of the loopback socket and that address.
func (a *Acceptor) handOff(sock net.Conn, d ergonode.HandshakeDetails) (net.Conn, string, error) {
	a.handMu.Lock()
	lc, err := net.DialTimeout("tcp", a.internal, handOffTimeout)
	if err != nil {
		a.handMu.Unlock()
		return nil, "", err
	}
	key := lc.LocalAddr().String()
	p := peerOf(d)
	p.sock = sock
	d.Custom = &p
	a.handed[key] = d
	a.handMu.Unlock()
	a.mu.Lock()
	a.live[lc] = struct{}{}
	if a.closed {
		_ = lc.Close()
	}
	a.mu.Unlock()
	return lc, key, nil
}

// take returns the details of the hand-off ergo accepted from remote, whose peerInfo holds the peer's socket
// for ServedConn; any other connection is refused. It waits only for a hand-off's dial in progress.
func (a *Acceptor) take(remote net.Addr) (ergonode.HandshakeDetails, error) {
	a.handMu.Lock()
	d, ok := a.handed[remote.String()]
	delete(a.handed, remote.String())
	a.handMu.Unlock()
	if !ok {
		return ergonode.HandshakeDetails{}, errNotHandedOff
	}
	return d, nil
}

// ServedConn is the socket the transport serves for a connection ergo hands it: the peer's own for a hand-off,
// else nc, which ergo dialed.
func ServedConn(nc lib.NetReadWriter, d ergonode.HandshakeDetails) lib.NetReadWriter {
	if sock := peerOf(d).sock; sock != nil {
		return sock
	}
	return nc
}
