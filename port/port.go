// Package port serves the hooks protocol to an Erlang port: {packet,4} frames over a reader and a writer, as
// `hornbeam --stdio` serves them on stdin and stdout (docs/protocol.md, "Port mode"). It needs no distributed
// node.
//
// A request flows: Serve's loop reads a frame and decodes it; a {call, Ref, Req} frame is stripped of its
// envelope and handed to the session's proto.Server on a goroutine of its own; the reply comes back as a term
// and goes out as {reply, Ref, Reply} through the session's one writer goroutine, which flushes several frames
// at once. Stream messages take the same writer, and the credit and close frames that steer them go straight to
// the proto.Server.
package port

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
	"github.com/hornbeam-go/hornbeam/proto"
)

// NodeName is the node of the references (StreamRefs) a session makes and of its owner's made-up pid.
const NodeName = "hornbeam@port"

// DefaultMaxFrame is the largest frame read when Options.MaxFrame is zero: 128 MiB.
const DefaultMaxFrame = 128 << 20

// Sizes of a session's writer.
const (
	queueLen    = 256      // frames queued before senders wait
	writeBuffer = 64 << 10 // bytes buffered between flushes
)

var (
	// creation is the creation of this process's port references, so that sessions of different runs differ.
	creation = rand.Uint32()
	// refSeq numbers the references made by the sessions of this process.
	refSeq atomic.Uint64
)

// errClosed is returned by a send after the session's writer has stopped.
var errClosed = errors.New("port: session closed")

// Options configures Serve. Engine is required; the other fields have usable zero values.
type Options struct {
	// Engine runs the hooks the session serves; required.
	Engine *hooks.Engine
	// Logger receives the session's logs; slog.Default() when nil. It must not write to Serve's w.
	Logger *slog.Logger
	// MaxFrame is the largest frame read, in bytes; DefaultMaxFrame when zero. A bigger frame ends the
	// session with an error, as a truncated one does: the stream is out of step.
	MaxFrame int
}

// session is one Serve: the owner's frame writer, and the proto.Transport of its one caller, the port's owner.
type session struct {
	ctx  context.Context
	log  *slog.Logger
	srv  *proto.Server
	out  chan []byte   // encoded frames for the writer
	dead chan struct{} // closed when the writer stops taking frames
}

// Serve serves the hooks protocol in port mode: it reads {packet,4} frames from r and writes frames to w. Each
// {call, Ref, Req} runs on its own goroutine and is answered {reply, Ref, Reply}, in whatever order calls
// finish; stream messages go out as {hornbeam_stream, StreamRef, Msg} frames, and
// {hornbeam_stream_credit, StreamRef, N} and {hornbeam_stream_close, StreamRef} frames steer them. A frame
// that does not decode is answered {reply, Ref, {error, {badterm, Detail}}} when it starts {call, Ref, and Ref
// reads, else with Ref undefined; any other unknown frame is answered
// {reply, undefined, {error, {bad_request, Frame}}}; the session goes on. One goroutine writes w, several
// frames per flush.
//
// Serve blocks until r ends, ctx is done or w fails. Then it cancels the session's context, so that calls
// still running end (a handler that heeds its context answers cancelled), tasks are cancelled and streams
// closed; it waits for the session's goroutines, writes what they sent (unless w failed) and returns. It
// returns nil at io.EOF and when ctx is done (closing r, if it is an io.Closer, so that a blocked read
// returns), else the read or write error.
func Serve(ctx context.Context, r io.Reader, w io.Writer, opts Options) error {
	if opts.Engine == nil {
		return errors.New("port: Options.Engine is nil")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxFrame <= 0 {
		opts.MaxFrame = DefaultMaxFrame
	}
	pr, err := etf.NewPacketReader(r, etf.Packet4)
	if err != nil {
		return err
	}
	pr.SetMaxFrame(opts.MaxFrame)
	bw := bufio.NewWriterSize(w, writeBuffer)
	pw, err := etf.NewPacketWriter(bw, etf.Packet4)
	if err != nil {
		return err
	}

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &session{ctx: sctx, log: opts.Logger, out: make(chan []byte, queueLen), dead: make(chan struct{})}
	s.srv = proto.NewServer(proto.Options{
		Engine: opts.Engine, Node: NodeName, MakeRef: makeRef, Register: notConnected, Logger: opts.Logger,
	})
	cl := proto.Caller{Pid: etf.Pid{Node: NodeName, ID: 1, Creation: creation}, T: s}

	var wg sync.WaitGroup
	var werr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		werr = s.writeLoop(pw, bw)
		if werr != nil {
			cancel()
		}
	}()
	go func() {
		defer wg.Done()
		<-sctx.Done()
		if c, ok := r.(io.Closer); ok {
			_ = c.Close()
		}
	}()

	rerr := s.readLoop(pr, cl)
	stopping := sctx.Err() != nil
	cancel()
	s.srv.Gone(s)
	s.srv.Wait()
	close(s.out)
	wg.Wait()
	switch {
	case werr != nil:
		return werr
	case rerr == io.EOF || stopping:
		return nil
	}
	return rerr
}

// readLoop reads frames and acts on them until the first read error, which it returns.
func (s *session) readLoop(pr *etf.PacketReader, cl proto.Caller) error {
	for {
		b, err := pr.ReadFrame()
		if err != nil {
			return err
		}
		t, err := etf.Decode(b)
		if err != nil {
			s.reply(callRef(b), proto.Badterm(err))
			continue
		}
		s.frame(cl, t)
	}
}

// frame acts on one frame from the port's owner.
func (s *session) frame(cl proto.Caller, frame etf.Term) {
	t, _ := frame.(etf.Tuple)
	switch {
	case len(t) == 3 && t[0] == proto.AtomCall:
		ref, req := t[1], t[2]
		s.srv.Go(func() {
			reply, then := s.srv.Handle(s.ctx, cl, req)
			if s.reply(ref, reply) && then != nil {
				then()
			}
		})
	case len(t) >= 2 && (t[0] == proto.AtomStreamCredit || t[0] == proto.AtomStreamClose):
		if !s.srv.Steer(t) {
			s.log.Debug("port: ignored a stream message", "message", etf.Brief(t, etf.BriefDepth, etf.BriefBytes))
		}
	default:
		s.reply(proto.AtomUndefined, proto.BadRequest(frame))
	}
}

// callRef reads Ref out of a frame that starts {call, Ref, ...}, even when what follows Ref does not decode;
// undefined when there is no such Ref.
func callRef(frame []byte) etf.Term {
	head, ok := etf.DecodeTupleHead(frame, 3, 2)
	if !ok || head[0] != proto.AtomCall {
		return proto.AtomUndefined
	}
	return head[1]
}

// reply sends {reply, Ref, Reply}; a reply that cannot be encoded is answered {error, {badterm, Detail}}
// instead. False when nothing was sent.
func (s *session) reply(ref, reply etf.Term) bool {
	err := s.send(etf.Tuple{proto.AtomReply, ref, reply})
	if err != nil && !errors.Is(err, errClosed) {
		s.log.Warn("port: reply does not encode", "ref", ref, "error", err)
		err = s.send(etf.Tuple{proto.AtomReply, ref, proto.Badterm(err)})
	}
	return err == nil
}

// notConnected answers {reg, AppPath, {erlang, Server}}: a port session reaches no other node.
func notConnected(_ string, server etf.Pid) etf.Term {
	return hooks.Reply(nil, hooks.BadArg("node: "+string(server.Node)+" is not connected"))
}

// makeRef returns the next port reference of this process.
func makeRef() etf.Ref {
	seq := refSeq.Add(1)
	return etf.Ref{Node: NodeName, Creation: creation,
		ID: [5]uint32{uint32(seq & 0x3ffff), uint32(seq >> 18), uint32(seq >> 50)}}
}

// Send queues msg, a stream message, as a frame to the port's owner.
func (s *session) Send(_ etf.Pid, msg etf.Term) error { return s.send(msg) }

// Monitor names the owner's monitor: the session's end releases what the owner held.
func (s *session) Monitor(etf.Pid) etf.Ref { return makeRef() }

// Watch does nothing: the owner's end is the session's.
func (s *session) Watch(etf.Pid, etf.Ref) {}

// Demonitor does nothing.
func (s *session) Demonitor(etf.Pid, etf.Ref) {}

// Context is the session's.
func (s *session) Context() context.Context { return s.ctx }

// send encodes msg as a frame and queues it for the writer; it waits while the queue is full, and fails once
// the writer has stopped.
func (s *session) send(msg etf.Term) error {
	b, err := etf.Encode(msg)
	if err != nil {
		return fmt.Errorf("port: frame: %w", err)
	}
	select {
	case <-s.dead:
		return errClosed
	default:
	}
	select {
	case s.out <- b:
		return nil
	case <-s.dead:
		return errClosed
	}
}

// writeLoop writes queued frames until out is closed, flushing whenever the queue runs empty. On a write error
// it stops taking frames and returns the error.
func (s *session) writeLoop(pw *etf.PacketWriter, bw *bufio.Writer) error {
	defer close(s.dead)
	for b := range s.out {
		err := pw.WriteFrame(b)
	batch:
		for err == nil {
			select {
			case b, ok := <-s.out:
				if !ok {
					break batch
				}
				err = pw.WriteFrame(b)
			default:
				break batch
			}
		}
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			return fmt.Errorf("port: write: %w", err)
		}
	}
	return nil
}
