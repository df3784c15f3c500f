package handshake

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	ergonode "github.com/ergo-services/ergo/node"
	"github.com/stretchr/testify/require"
)

// pipeHandshake runs the dialing and the accepting side of a handshake against each other; the accepting side
// closes its end when it fails, as the acceptor does. The dialing node is visible and the accepting one hidden,
// and each side must see the other so.
func pipeHandshake(t *testing.T, tls bool, dialName, dialCookie, acceptCookie string) (dialErr, acceptErr error) {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	dialer, acceptor := New(slog.Default(), false, nil), New(slog.Default(), true, nil)
	require.NoError(t, dialer.Init(dialName, 7, ergonode.Flags{}))
	require.NoError(t, acceptor.Init("acceptor@host", 9, ergonode.Flags{}))
	done := make(chan error, 1)
	go func() {
		d, err := acceptor.accept(newHSFramer(b, tls), acceptCookie)
		if err == nil && (d.Name != dialName || d.Creation != 7 || Hidden(d)) {
			err = fmt.Errorf("accepted %+v, hidden %v", d, Hidden(d))
		}
		_ = b.Close()
		done <- err
	}()
	d, err := dialer.dial(newHSFramer(a, tls), dialCookie, nil)
	if err == nil && (d.Name != "acceptor@host" || d.Creation != 9 || !Hidden(d)) {
		err = fmt.Errorf("dialed %+v, hidden %v", d, Hidden(d))
	}
	return err, <-done
}

func TestHandshakeBothSides(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tls), func(t *testing.T) {
			dialErr, acceptErr := pipeHandshake(t, tls, "dialer@host", "cookie", "cookie")
			require.NoError(t, dialErr)
			require.NoError(t, acceptErr)

			dialErr, acceptErr = pipeHandshake(t, tls, "dialer@host", "cookie", "other")
			require.ErrorIs(t, acceptErr, errCookieMismatch)
			require.EqualError(t, acceptErr, "node: rejected connection from dialer@host: invalid challenge reply (cookie mismatch?)")
			require.ErrorIs(t, dialErr, errClosedAfterReply)
			require.EqualError(t, dialErr, "node: connection to acceptor@host rejected: peer closed the link after our challenge reply (cookie mismatch?)")

			_, acceptErr = pipeHandshake(t, tls, "acceptor@host", "cookie", "cookie")
			require.ErrorIs(t, acceptErr, errMalformed)
			require.ErrorContains(t, acceptErr, "the peer calls itself acceptor@host, this node's name")
		})
	}
}

func TestParseName(t *testing.T) {
	tests := []struct {
		name    string
		msg     []byte
		want    string
		wantErr string
	}{
		{"exact", FrameName(0, 3, "a@b")[2:], "a@b", ""},
		{"trailing bytes ignored, as OTP does", FrameName(0, 3, "a@b!!")[2:], "a@b", ""},
		{"declared longer than the message", FrameName(0, 4, "a@b")[2:], "", "declared length 4 exceeds the 3 bytes left"},
		{"declared 65535", FrameName(0, 65535, "")[2:], "", "declared length 65535 exceeds the 0 bytes left"},
		{"short header", []byte{hsName, 0, 0}, "", "want a name message of at least 15 bytes"},
		{"empty host", FrameName(0, 2, "a@")[2:], "", `node name "a@" is not name@host`},
		{"two @", FrameName(0, 5, "a@b@c")[2:], "", `node name "a@b@c" is not name@host`},
		{"version 5", []byte{hsOldName, 0, 5, 0, 0, 0, 0, 'a', '@', 'b'}, "", "version 5 name message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, got, err := parseName(tt.msg)
			if tt.wantErr != "" {
				require.ErrorIs(t, err, errMalformed)
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got, "got %v; want %v", got, tt.want)
		})
	}
}

// scripted is a connection for the fuzz target: reads come from a script, writes are dropped.
type scripted struct{ io.Reader }

func (scripted) Write(b []byte) (int, error) { return len(b), nil }

// FuzzHandshake feeds arbitrary bytes to both sides of the handshake: they fail or succeed, never panic or
// read past a message.
func FuzzHandshake(f *testing.F) {
	f.Add(FrameName(0, 3, "a@b"))
	f.Add(FrameName(0, 200, "a@b"))
	f.Add(append([]byte{0, 3, 's', 'o', 'k'}, FrameName(0, 3, "a@b")...))
	f.Add([]byte{0, 5, 's', 'a', 'l', 'i', 'v', 'e'})
	h := New(slog.Default(), false, nil)
	_ = h.Init("fuzz@host", 1, ergonode.Flags{})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, tls := range []bool{false, true} {
			_, _ = h.accept(newHSFramer(scripted{bytes.NewReader(b)}, tls), "c")
			_, _ = h.dial(newHSFramer(scripted{bytes.NewReader(b)}, tls), "c", nil)
		}
	})
}

// remoteConn is a connection with a chosen remote address.
type remoteConn struct {
	net.Conn
	remote net.Addr
}

func (c remoteConn) RemoteAddr() net.Addr { return c.remote }

func TestAcceptorMakesRoom(t *testing.T) {
	a := &Acceptor{limit: 3, per: 2, hosts: make(map[string]int), live: make(map[net.Conn]struct{})}
	conn := func(ip string) net.Conn {
		c, other := net.Pipe()
		t.Cleanup(func() { _ = c.Close(); _ = other.Close() })
		return remoteConn{Conn: c, remote: &net.TCPAddr{IP: net.ParseIP(ip), Port: 1}}
	}
	track := func(ip string) *pending {
		p, ok := a.track(conn(ip))
		require.True(t, ok)
		return p
	}
	a1, a2 := track("10.0.0.1"), track("10.0.0.1")
	a3 := track("10.0.0.1") // the address is at its limit: its oldest goes
	require.Equal(t, []bool{true, false, false}, []bool{a1.evicted, a2.evicted, a3.evicted})
	b1 := track("10.0.0.2")
	b2 := track("10.0.0.2") // the acceptor is at its limit: the oldest of all goes
	require.Equal(t, []bool{true, false, false, false}, []bool{a2.evicted, a3.evicted, b1.evicted, b2.evicted})
	require.Equal(t, map[string]int{"10.0.0.1": 1, "10.0.0.2": 2}, a.hosts)
	require.False(t, a.untrack(a3))
	require.True(t, a.untrack(a2))
	require.Equal(t, map[string]int{"10.0.0.2": 2}, a.hosts)
	require.Equal(t, []*pending{b1, b2}, a.inflight)
}

func TestHandOffRefusesStrangers(t *testing.T) {
	a := &Acceptor{handed: make(map[string]ergonode.HandshakeDetails)}
	_, err := a.take(&net.TCPAddr{IP: net.ParseIP(loopback), Port: 1})
	require.True(t, errors.Is(err, errNotHandedOff), "got %v; want %v", err, errNotHandedOff)
}

// peerList is a PeerSet of fixed peers.
type peerList []string

func (p peerList) Nodes() []string         { return p }
func (p peerList) Disconnect(string) error { return nil }

// closeCount is a socket that counts its closes.
type closeCount struct{ n int }

func (c *closeCount) Close() error { c.n++; return nil }

func TestClaimStatus(t *testing.T) {
	tests := []struct {
		name      string
		me        string
		connected bool
		before    func(s *attempts) *attempt // the claim on the peer "b@h" before its send_name comes
		want      string
		wantLost  bool // the claim before lost to the accept
	}{
		{"no claim", "a@h", false, nil, "ok", false},
		{"connected", "a@h", true, nil, "alive", false},
		{"a dial of a smaller name", "a@h", false, dialClaim, "ok_simultaneous", true},
		{"a dial of a greater name", "c@h", false, dialClaim, "nok", false},
		{"an accept in progress", "a@h", false, func(s *attempts) *attempt { _, a := s.accept("a@h", "b@h"); return a }, "", false},
		{"a finished dial not served yet", "c@h", false, func(s *attempts) *attempt { a := dialClaim(s); a.finished(); return a }, "alive", false},
		{"a stale one", "c@h", false, func(s *attempts) *attempt {
			a := dialClaim(s)
			a.shook = time.Now().Add(-staleClaim - time.Second)
			return a
		}, "ok", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &attempts{}
			if tt.connected {
				s.setPeers(peerList{"b@h"})
			}
			var before *attempt
			if tt.before != nil {
				before = tt.before(s)
			}
			got, a := s.accept(tt.me, "b@h")
			require.Equal(t, tt.want, got, "got %v; want %v", got, tt.want)
			require.Equal(t, got == "" || got == "nok", a == nil, "a claim comes with every status but nok and none")
			if before != nil && before.dial {
				require.Equal(t, tt.wantLost, before.isLost(), "got lost %v; want %v", before.isLost(), tt.wantLost)
				if tt.wantLost {
					require.Equal(t, 1, before.sock.(*closeCount).n, "the lost dial's socket is closed")
				}
			}
			if a != nil {
				require.Equal(t, (<-chan struct{})(a.done), s.pending("b@h"), "the accept holds the claim")
				a.release()
				require.Nil(t, s.pending("b@h"))
			}
		})
	}
}

// dialClaim claims "b@h" for a dial.
func dialClaim(s *attempts) *attempt {
	a, err := s.dial("b@h", &closeCount{})
	if err != nil {
		panic(err)
	}
	return a
}

func TestClaimDialBusy(t *testing.T) {
	s := &attempts{}
	a, err := s.dial("b@h", nil)
	require.NoError(t, err)
	_, err = s.dial("b@h", nil)
	require.True(t, isSettled(err), "a second dial while one is in progress: got %v; want %v", err, errBusy)
	a.release()
	s.setPeers(peerList{"b@h"})
	_, err = s.dial("b@h", nil)
	require.True(t, isSettled(err), "a dial to a connected peer: got %v; want %v", err, errBusy)
}

// TestSimultaneousDials: nodes a@host and b@host dial each other at once, each before it reads the other's
// send_name. b@host's name is the greater, so its dial wins: its accept answers a@host's dial nok, which waits;
// a@host's accept answers b@host's dial ok_simultaneous and ends its own dial; each side ends with one
// connection.
func TestSimultaneousDials(t *testing.T) {
	ha, hb := New(slog.Default(), false, nil), New(slog.Default(), false, nil)
	require.NoError(t, ha.Init("a@host", 1, ergonode.Flags{}))
	require.NoError(t, hb.Init("b@host", 2, ergonode.Flags{}))
	aOut, bIn := net.Pipe() // a@host's dial
	bOut, aIn := net.Pipe() // b@host's dial
	type result struct {
		d   ergonode.HandshakeDetails
		err error
	}
	dial := func(h *Handshake, conn net.Conn, peer string) chan result {
		ch := make(chan result, 1)
		go func() {
			d, err := h.start(conn.RemoteAddr(), conn, false, "cookie", peer)
			_ = conn.Close()
			ch <- result{d, err}
		}()
		return ch
	}
	accept := func(h *Handshake, conn net.Conn) chan result {
		ch := make(chan result, 1)
		go func() {
			d, err := h.accept(newHSFramer(conn, false), "cookie")
			if err != nil {
				_ = conn.Close()
			}
			ch <- result{d, err}
		}()
		return ch
	}
	aDial, bDial := dial(ha, aOut, "b@host"), dial(hb, bOut, "a@host")
	require.Eventually(t, func() bool { return ha.Pending("b@host") != nil && hb.Pending("a@host") != nil },
		time.Second, time.Millisecond, "both dials claim their peer before any send_name is read")
	// b@host reads a@host's send_name first (the other order ends a@host's dial before its send_name is read).
	r := <-accept(hb, bIn)
	require.True(t, isSettled(r.err), "b@host's accept: got %v; want %v", r.err, errLostRace)
	aAccept := accept(ha, aIn)
	r = <-aDial
	require.True(t, isSettled(r.err), "a@host's dial: got %v; want %v", r.err, errLostRace)
	won := <-bDial
	require.NoError(t, won.err)
	require.Equal(t, "a@host", won.d.Name)
	took := <-aAccept
	require.NoError(t, took.err)
	require.Equal(t, "b@host", took.d.Name)

	// Each winner keeps its claim until the transport serves it.
	for _, c := range []struct {
		h    *Handshake
		peer string
		d    ergonode.HandshakeDetails
	}{{ha, "b@host", took.d}, {hb, "a@host", won.d}} {
		pending := c.h.Pending(c.peer)
		require.NotNil(t, pending)
		OnServed(c.d)()
		<-pending
		require.Nil(t, c.h.Pending(c.peer))
	}
	_ = aIn.Close()
	_ = bOut.Close()
}

// TestAliveReplacesOld: a dial to a node that still has a connection from the dialer is answered alive, the
// dial confirms, and the handshake goes on.
func TestAliveReplacesOld(t *testing.T) {
	ha, hb := New(slog.Default(), false, nil), New(slog.Default(), false, nil)
	require.NoError(t, ha.Init("a@host", 1, ergonode.Flags{}))
	require.NoError(t, hb.Init("b@host", 2, ergonode.Flags{}))
	hb.claims.setPeers(peerList{"a@host"})
	out, in := net.Pipe()
	defer in.Close()
	done := make(chan error, 1)
	go func() {
		_, err := hb.accept(newHSFramer(in, false), "cookie")
		done <- err
	}()
	d, err := ha.start(out.RemoteAddr(), out, false, "cookie", "b@host")
	require.NoError(t, err)
	require.Equal(t, "b@host", d.Name)
	require.NoError(t, <-done)
}
