package port

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
	"github.com/hornbeam-go/hornbeam/internal/hookstest"
	"github.com/hornbeam-go/hornbeam/proto"
	"github.com/stretchr/testify/require"
)

// portPeer is the Erlang side of a Serve session run over pipes.
type portPeer struct {
	t    *testing.T
	in   *io.PipeWriter // the session's r
	out  *etf.PacketReader
	outR *io.PipeReader
	pw   *etf.PacketWriter
	done chan error // Serve's result
}

// startPort runs Serve with the test engine; cleanup closes its input and waits for it.
func startPort(t *testing.T) *portPeer {
	t.Helper()
	r, in := io.Pipe()
	outR, outW := io.Pipe()
	pr, err := etf.NewPacketReader(outR, etf.Packet4)
	require.NoError(t, err)
	pw, err := etf.NewPacketWriter(in, etf.Packet4)
	require.NoError(t, err)
	p := &portPeer{t: t, in: in, out: pr, outR: outR, pw: pw, done: make(chan error, 1)}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e := hookstest.Engine(t)
	go func() {
		p.done <- Serve(context.Background(), r, outW, Options{Engine: e, Logger: log})
		_ = outW.Close()
	}()
	t.Cleanup(func() {
		_ = in.Close()
		go func() { _, _ = io.Copy(io.Discard, outR) }()
		<-p.done
	})
	return p
}

// write sends one term as a frame.
func (p *portPeer) write(t etf.Term) {
	p.t.Helper()
	b, err := etf.Encode(t)
	require.NoError(p.t, err)
	require.NoError(p.t, p.pw.WriteFrame(b))
}

// read returns the next frame's term, failing after a few seconds.
func (p *portPeer) read() etf.Term {
	p.t.Helper()
	type result struct {
		t   etf.Term
		err error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := p.out.ReadFrame()
		if err != nil {
			ch <- result{nil, err}
			return
		}
		t, err := etf.Decode(b)
		ch <- result{t, err}
	}()
	select {
	case r := <-ch:
		require.NoError(p.t, r.err)
		return r.t
	case <-time.After(5 * time.Second):
		p.t.Fatal("no frame from the port within 5s")
		return nil
	}
}

// call sends {call, Ref, Req} and returns the reply, which must be the next frame.
func (p *portPeer) call(ref, req etf.Term) etf.Term {
	p.t.Helper()
	p.write(etf.Tuple{proto.AtomCall, ref, req})
	rep, ok := p.read().(etf.Tuple)
	require.True(p.t, ok)
	require.Len(p.t, rep, 3)
	require.Equal(p.t, proto.AtomReply, rep[0])
	require.Equal(p.t, ref, rep[1])
	return rep[2]
}

func TestPortCalls(t *testing.T) {
	p := startPort(t)
	echo := func(v etf.Term) etf.Term {
		return etf.Tuple{proto.AtomExecute, []byte("echo"), []byte("echo"), etf.List{v}, etf.Map{}}
	}
	tests := []struct {
		name string
		req  etf.Term
		want etf.Term
	}{
		{"execute", echo(etf.Tuple{etf.Atom("a"), []byte("b"), int64(1)}),
			etf.Tuple{proto.AtomOK, etf.Tuple{etf.Atom("a"), []byte("b"), int64(1)}}},
		{"execute with opts", etf.Tuple{proto.AtomExecute, []byte("echo"), []byte("echo"), etf.List{int64(7)}, etf.Map{},
			etf.Map{{Key: proto.AtomTimeout, Value: int64(1000)}}}, etf.Tuple{proto.AtomOK, int64(7)}},
		{"find", etf.Tuple{proto.AtomFind, []byte("echo")}, etf.Tuple{proto.AtomOK, proto.InfoTerm(hooks.Info{AppPath: "echo", Kind: "go"})}},
		{"not found", etf.Tuple{proto.AtomFind, []byte("nope")},
			etf.Tuple{proto.AtomError, etf.Tuple{etf.Atom("not_found"), []byte("nope")}}},
		{"bad request", etf.Atom("what"), proto.BadRequest(etf.Atom("what"))},
		{"reg needs a node", etf.Tuple{proto.AtomReg, []byte("x"), etf.Tuple{proto.AtomErlang, etf.Pid{Node: "a@b", ID: 1}}},
			etf.Tuple{proto.AtomError, etf.Tuple{etf.Atom("badarg"), []byte("node: a@b is not connected")}}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.call(int64(i), tt.req)
			require.True(t, etf.Equal(tt.want, got), "got %v; want %v", got, tt.want)
		})
	}
}

func TestPortConcurrentCalls(t *testing.T) {
	p := startPort(t)
	p.write(etf.Tuple{proto.AtomCall, etf.Atom("slow"), etf.Tuple{proto.AtomExecute, []byte("echo"), []byte("sleep"), etf.List{int64(300)}, etf.Map{}}})
	p.write(etf.Tuple{proto.AtomCall, etf.Atom("fast"), etf.Tuple{proto.AtomExecute, []byte("echo"), []byte("echo"), etf.List{int64(1)}, etf.Map{}}})
	var order []etf.Term
	for range 2 {
		order = append(order, p.read().(etf.Tuple)[1])
	}
	require.Equal(t, []etf.Term{etf.Atom("fast"), etf.Atom("slow")}, order)
}

func TestPortBadFrames(t *testing.T) {
	p := startPort(t)
	require.NoError(t, p.pw.WriteFrame([]byte{131, 104, 2, 97}))
	rep := p.read().(etf.Tuple)
	require.Equal(t, etf.Tuple{proto.AtomReply, proto.AtomUndefined}, rep[:2])
	require.Equal(t, etf.Atom("badterm"), rep[2].(etf.Tuple)[1].(etf.Tuple)[0])

	// {call, 7, [<<1, 2, 3>> | V4_PORT_EXT with an ID above 2^32]}: the Ref still reads.
	frame := []byte{131, 104, 3, 119, 4, 'c', 'a', 'l', 'l', 97, 7, 108, 0, 0, 0, 1, 109, 0, 0, 0, 3, 1, 2, 3,
		120, 119, 1, 'n', 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3}
	require.NoError(t, p.pw.WriteFrame(frame))
	rep = p.read().(etf.Tuple)
	require.Equal(t, etf.Tuple{proto.AtomReply, int64(7)}, rep[:2])
	require.Equal(t, etf.Atom("badterm"), rep[2].(etf.Tuple)[1].(etf.Tuple)[0])

	p.write(etf.Tuple{etf.Atom("hello"), int64(1)})
	require.True(t, etf.Equal(etf.Tuple{proto.AtomReply, proto.AtomUndefined, proto.BadRequest(etf.Tuple{etf.Atom("hello"), int64(1)})}, p.read()))

	require.Equal(t, etf.Tuple{proto.AtomOK, int64(2)}, p.call(int64(1), etf.Tuple{proto.AtomExecute, []byte("echo"), []byte("echo"), etf.List{int64(2)}, etf.Map{}}))
}

func TestPortStream(t *testing.T) {
	p := startPort(t)
	rep := p.call(int64(1), etf.Tuple{proto.AtomStream, []byte("echo"), []byte("count"), etf.List{int64(100)}, etf.Map{},
		etf.Map{{Key: proto.AtomWindow, Value: int64(8)}}}).(etf.Tuple)
	require.Equal(t, proto.AtomOK, rep[0])
	ref, ok := rep[1].(etf.Ref)
	require.True(t, ok)
	require.Equal(t, etf.Atom(NodeName), ref.Node)
	var got []etf.Term
	unacked := 0
	for {
		m := p.read().(etf.Tuple)
		require.Equal(t, proto.AtomHornbeamStream, m[0])
		require.Equal(t, ref, m[1])
		if m[2] == proto.AtomDone {
			break
		}
		msg := m[2].(etf.Tuple)
		switch msg[0] {
		case proto.AtomChunk:
			got = append(got, msg[1])
			unacked++
		case proto.AtomChunks:
			l, ok := etf.Elems(msg[1])
			require.True(t, ok)
			got = append(got, l...)
			unacked += len(l)
		}
		require.LessOrEqual(t, unacked, 8)
		if unacked >= 4 {
			p.write(etf.Tuple{proto.AtomStreamCredit, ref, int64(unacked)})
			unacked = 0
		}
	}
	want := make([]etf.Term, 100)
	for i := range want {
		want[i] = int64(i)
	}
	require.Equal(t, want, got)
}

func TestPortStreamClose(t *testing.T) {
	p := startPort(t)
	rep := p.call(int64(1), etf.Tuple{proto.AtomStream, []byte("echo"), []byte("count"), etf.List{int64(1000)}, etf.Map{},
		etf.Map{{Key: proto.AtomWindow, Value: int64(4)}}}).(etf.Tuple)
	ref := rep[1].(etf.Ref)
	p.write(etf.Tuple{proto.AtomStreamClose, ref})
	// At most the window's chunks were sent before the close; the next reply follows them, with no done.
	p.write(etf.Tuple{proto.AtomCall, int64(2), etf.Tuple{proto.AtomFind, []byte("echo")}})
	for {
		m := p.read().(etf.Tuple)
		if m[0] == proto.AtomReply {
			require.Equal(t, int64(2), m[1])
			break
		}
		require.NotEqual(t, proto.AtomDone, m[2])
	}
}

func TestPortEOF(t *testing.T) {
	p := startPort(t)
	rep := p.call(int64(1), etf.Tuple{proto.AtomExecuteAsync, []byte("echo"), []byte("sleep"), etf.List{int64(100)}, etf.Map{}}).(etf.Tuple)
	require.Equal(t, proto.AtomOK, rep[0])
	p.call(int64(2), etf.Tuple{proto.AtomStream, []byte("echo"), []byte("count"), etf.List{int64(1 << 30)}, etf.Map{}})
	require.NoError(t, p.in.Close())
	go func() { _, _ = io.Copy(io.Discard, p.outR) }()
	select {
	case err := <-p.done:
		require.NoError(t, err)
		p.done <- err
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return within 5s of EOF")
	}
}

func TestPortContextDone(t *testing.T) {
	r, in := io.Pipe()
	defer in.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, r, io.Discard, Options{Engine: hookstest.Engine(t)}) }()
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return within 5s of its context's end")
	}
}

// testWriter logs through t.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
