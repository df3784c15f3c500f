package handshake

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"

	ergonode "github.com/ergo-services/ergo/node"
	"github.com/stretchr/testify/require"
)

// nameMessage frames a send_name whose name field declares nlen bytes and holds name.
func nameMessage(flags uint64, nlen int, name string) []byte {
	b := make([]byte, 2+nameMsgLen)
	binary.BigEndian.PutUint16(b, uint16(nameMsgLen+len(name)))
	b[2] = hsName
	binary.BigEndian.PutUint64(b[3:], flags|flagHandshake23)
	binary.BigEndian.PutUint16(b[15:], uint16(nlen))
	return append(b, name...)
}

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
	d, err := dialer.dial(newHSFramer(a, tls), dialCookie)
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
		{"exact", nameMessage(0, 3, "a@b")[2:], "a@b", ""},
		{"trailing bytes ignored, as OTP does", nameMessage(0, 3, "a@b!!")[2:], "a@b", ""},
		{"declared longer than the message", nameMessage(0, 4, "a@b")[2:], "", "declared length 4 exceeds the 3 bytes left"},
		{"declared 65535", nameMessage(0, 65535, "")[2:], "", "declared length 65535 exceeds the 0 bytes left"},
		{"short header", []byte{hsName, 0, 0}, "", "want a name message of at least 15 bytes"},
		{"empty host", nameMessage(0, 2, "a@")[2:], "", `node name "a@" is not name@host`},
		{"two @", nameMessage(0, 5, "a@b@c")[2:], "", `node name "a@b@c" is not name@host`},
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
	f.Add(nameMessage(0, 3, "a@b"))
	f.Add(nameMessage(0, 200, "a@b"))
	f.Add(append([]byte{0, 3, 's', 'o', 'k'}, nameMessage(0, 3, "a@b")...))
	f.Add([]byte{0, 5, 's', 'a', 'l', 'i', 'v', 'e'})
	h := New(slog.Default(), false, nil)
	_ = h.Init("fuzz@host", 1, ergonode.Flags{})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, tls := range []bool{false, true} {
			_, _ = h.accept(newHSFramer(scripted{bytes.NewReader(b)}, tls), "c")
			_, _ = h.dial(newHSFramer(scripted{bytes.NewReader(b)}, tls), "c")
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
