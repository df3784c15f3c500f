package node

import (
	"io"
	"testing"
	"time"

	ergonode "github.com/ergo-services/ergo/node"
	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/internal/hookstest"
	"github.com/hornbeam-go/hornbeam/proto"
)

// discardConn is a socket that reads nothing and swallows what is written.
type discardConn struct{}

func (discardConn) Read([]byte) (int, error)         { return 0, io.EOF }
func (discardConn) Write(b []byte) (int, error)      { return len(b), nil }
func (discardConn) SetReadDeadline(time.Time) error  { return nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }

// echoCallPacket returns a REG_SEND packet to hornbeam_hooks with a gen_server:call of echo/echo on arg, as
// OTP 25 sends it.
func echoCallPacket(b *testing.B, peer string, arg etf.Term) []byte {
	from := etf.Pid{Node: etf.Atom(peer), ID: 90, Creation: 3}
	ref := etf.Ref{Node: etf.Atom(peer), Creation: 3, ID: [5]uint32{1, 2, 3}}
	ctl := etf.Tuple{opRegSend, from, etf.Atom(""), nameHooks}
	msg := etf.Tuple{atomGenCall, etf.Tuple{from, etf.ImproperList{Elems: []etf.Term{atomAlias}, Tail: ref}},
		etf.Tuple{proto.AtomExecute, []byte("echo"), []byte("echo"), etf.List{arg}, etf.Map{}}}
	f, err := encodeFrame(ctl, msg, true)
	if err != nil {
		b.Fatal(err)
	}
	p := append([]byte(nil), f.head[frameHeaderLen:]...)
	for _, seg := range f.more {
		p = append(p, seg...)
	}
	f.release()
	return p
}

// benchmarkEcho runs one echo call packet per iteration through handlePacket, replying to a socket that
// discards: the node's own cost of a call, without the network.
func benchmarkEcho(b *testing.B, arg etf.Term) {
	n := startNode(b, hookstest.Engine(b))
	c := newConn(n, discardConn{}, ergonode.HandshakeDetails{Name: "bench@localhost", Creation: 3})
	packet := echoCallPacket(b, c.peer, arg)
	b.SetBytes(int64(len(packet)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		p := append(takeFrame(len(packet)), packet...)
		c.handlePacket(p)
	}
}

// BenchmarkEchoSmall echoes <<"hello">>.
func BenchmarkEchoSmall(b *testing.B) { benchmarkEcho(b, []byte("hello")) }

// BenchmarkEcho1MB echoes a 1 MiB binary, which the reply writes from the request's own buffer.
func BenchmarkEcho1MB(b *testing.B) { benchmarkEcho(b, make([]byte, 1<<20)) }
