package node

import (
	"context"
	"io"
	"testing"
	"time"

	ergonode "github.com/ergo-services/ergo/node"
	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/internal/hookstest"
	"github.com/hornbeam-go/hornbeam/node/internal/dist"
	"github.com/hornbeam-go/hornbeam/proto"
)

// discardConn is a socket that reads nothing and swallows what is written.
type discardConn struct{}

func (discardConn) Read([]byte) (int, error)         { return 0, io.EOF }
func (discardConn) Write(b []byte) (int, error)      { return len(b), nil }
func (discardConn) SetReadDeadline(time.Time) error  { return nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }

// The start of a pass-through packet (erl_dist_protocol.html): its type byte and the REG_SEND operation.
const (
	typePassThrough = 112
	opRegSend       = 6
)

// echoCallPacket returns a REG_SEND packet to hornbeam_hooks with a gen_server:call of echo/echo on arg, as
// OTP 25 sends it, without its length header.
func echoCallPacket(b *testing.B, peer string, arg etf.Term) []byte {
	from := etf.Pid{Node: etf.Atom(peer), ID: 90, Creation: 3}
	ref := etf.Ref{Node: etf.Atom(peer), Creation: 3, ID: [5]uint32{1, 2, 3}}
	ctl := etf.Tuple{int64(opRegSend), from, etf.Atom(""), nameHooks}
	msg := etf.Tuple{dist.AtomGenCall, etf.Tuple{from, etf.ImproperList{Elems: []etf.Term{etf.Atom("alias")}, Tail: ref}},
		etf.Tuple{proto.AtomExecute, []byte("echo"), []byte("echo"), etf.List{arg}, etf.Map{}}}
	p := []byte{typePassThrough}
	for _, t := range []etf.Term{ctl, msg} {
		e, err := etf.Encode(t)
		if err != nil {
			b.Fatal(err)
		}
		p = append(p, e...)
	}
	return p
}

// benchmarkEcho runs one echo call packet per iteration through HandlePacket, replying to a socket that
// discards: the node's own cost of a call, without the network.
func benchmarkEcho(b *testing.B, arg etf.Term) {
	n := startNode(b, hookstest.Engine(b))
	ci, err := n.tr.Proto().Init(context.Background(), discardConn{}, "", ergonode.HandshakeDetails{Name: "bench@localhost", Creation: 3})
	if err != nil {
		b.Fatal(err)
	}
	c := ci.(*dist.Conn)
	packet := echoCallPacket(b, c.Peer(), arg)
	b.SetBytes(int64(len(packet)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		p := append(dist.TakeFrame(len(packet)), packet...)
		c.HandlePacket(p)
	}
}

// BenchmarkEchoSmall echoes <<"hello">>.
func BenchmarkEchoSmall(b *testing.B) { benchmarkEcho(b, []byte("hello")) }

// BenchmarkEcho1MB echoes a 1 MiB binary, which the reply writes from the request's own buffer.
func BenchmarkEcho1MB(b *testing.B) { benchmarkEcho(b, make([]byte, 1<<20)) }
