package node

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
)

// Port mode (docs/protocol.md, "Port mode"): the hooks protocol over {packet,4} frames, as `hornbeam --stdio`
// serves it to an Erlang port. A session runs the server of hornbeam_hooks on a Node that is not started: no
// ergo, no connections; its one caller is the port's owner, and its references and made-up pid name the node
// portNodeName.

// portNodeName is the node of the references (StreamRefs) a port session makes and of its owner's made-up pid.
const portNodeName = "hornbeam@port"

// Sizes of a port session's writer.
const (
	portQueue       = 256      // frames queued before senders wait
	portWriteBuffer = 64 << 10 // bytes buffered between flushes
)

var (
	atomReply     = etf.Atom("reply")
	atomUndefined = etf.Atom("undefined")
)

var (
	// portCreation is the creation of this process's port references, so that sessions of different runs
	// differ.
	portCreation = rand.Uint32()
	// portRefSeq numbers the references made by the port sessions of this process.
	portRefSeq atomic.Uint64
)

// errPortClosed is returned by a send after the session's writer has stopped.
var errPortClosed = errors.New("node: port session closed")

// PortOptions configures ServePort. Engine is required; the other fields have usable zero values.
type PortOptions struct {
	// Engine runs the hooks the session serves; required.
	Engine *hooks.Engine
	// Logger receives the session's logs; slog.Default() when nil. It must not write to ServePort's w.
	Logger *slog.Logger
	// MaxFrame is the largest frame read, in bytes; DefaultMaxMessageSize when zero. A bigger frame ends the
	// session with an error, as a truncated one does: the stream is out of step.
	MaxFrame int
}

// portSession is the owner's side of one ServePort: its frame writer.
type portSession struct {
	out  chan []byte   // encoded frames for the writer
	dead chan struct{} // closed when the writer stops taking frames
}

// ServePort serves the hooks protocol in port mode: it reads {packet,4} frames from r and writes frames to w,
// the way `hornbeam --stdio` serves an Erlang port on stdin and stdout. Each {call, Ref, Req} runs on its own
// goroutine and is answered {reply, Ref, Reply}, in whatever order calls finish; stream messages go out as
// {hornbeam_stream, StreamRef, Msg} frames, and {hornbeam_stream_credit, StreamRef, N} and
// {hornbeam_stream_close, StreamRef} frames steer them. A frame that does not decode is answered
// {reply, Ref, {error, {badterm, Detail}}} when it starts {call, Ref, and Ref reads, else with Ref undefined;
// any other unknown frame is answered {reply, undefined, {error, {bad_request, Frame}}}; the session goes on. One goroutine writes w, several frames per flush.
//
// ServePort blocks until r ends, ctx is done or w fails. Then it cancels the session's context, so that calls
// still running end (a handler that heeds its context answers cancelled), tasks are cancelled and streams
// closed; it waits for the session's goroutines, writes what they sent (unless w failed) and returns. It returns nil at
// io.EOF and when ctx is done (closing r, if it is an io.Closer, so that a blocked read returns), else the read
// or write error.
func ServePort(ctx context.Context, r io.Reader, w io.Writer, opts PortOptions) error {
	if opts.Engine == nil {
		return errors.New("node: PortOptions.Engine is nil")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxFrame <= 0 {
		opts.MaxFrame = DefaultMaxMessageSize
	}
	pr, err := etf.NewPacketReader(r, etf.Packet4)
	if err != nil {
		return err
	}
	pr.SetMaxFrame(opts.MaxFrame)
	bw := bufio.NewWriterSize(w, portWriteBuffer)
	pw, err := etf.NewPacketWriter(bw, etf.Packet4)
	if err != nil {
		return err
	}

	n := &Node{name: portNodeName, opts: Options{Engine: opts.Engine}, log: opts.Logger}
	n.ctx, n.cancel = context.WithCancel(ctx)
	defer n.cancel()
	s := newServer(n)
	ps := &portSession{out: make(chan []byte, portQueue), dead: make(chan struct{})}
	cl := caller{pid: etf.Pid{Node: portNodeName, ID: 1, Creation: portCreation}, port: ps}

	var wg sync.WaitGroup
	var werr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		werr = ps.writeLoop(pw, bw)
		if werr != nil {
			n.cancel()
		}
	}()
	go func() {
		defer wg.Done()
		<-n.ctx.Done()
		if c, ok := r.(io.Closer); ok {
			_ = c.Close()
		}
	}()

	rerr := s.readPort(pr, cl)
	stopping := n.ctx.Err() != nil
	n.cancel()
	s.releaseCaller(cl)
	s.stop()
	close(ps.out)
	wg.Wait()
	switch {
	case werr != nil:
		return werr
	case rerr == io.EOF || stopping:
		return nil
	}
	return rerr
}

// readPort reads frames and acts on them until the first read error, which it returns.
func (s *server) readPort(pr *etf.PacketReader, cl caller) error {
	for {
		b, err := pr.ReadFrame()
		if err != nil {
			return err
		}
		t, err := etf.Decode(b)
		if err != nil {
			s.replyPort(cl, portCallRef(b), errorTerm("badterm", []byte(err.Error())))
			continue
		}
		s.portFrame(cl, t)
	}
}

// portFrame acts on one frame from the port's owner.
func (s *server) portFrame(cl caller, frame etf.Term) {
	t, _ := frame.(etf.Tuple)
	switch {
	case len(t) == 3 && t[0] == atomCall:
		ref, req := t[1], t[2]
		s.spawn(func() {
			reply, then := s.serve(s.n.ctx, cl, req)
			if s.replyPort(cl, ref, reply) && then != nil {
				then()
			}
		})
	case len(t) >= 2 && (t[0] == atomStreamCredit || t[0] == atomStreamClose):
		s.handleInfo(t)
	default:
		s.replyPort(cl, atomUndefined, badRequest(frame))
	}
}

// portCallRef reads Ref out of a frame that starts {call, Ref, ...}, even when what follows Ref does not
// decode; undefined when there is no such Ref.
func portCallRef(frame []byte) etf.Term {
	head, ok := etf.DecodeTupleHead(frame, 3, 2)
	if !ok || head[0] != atomCall {
		return atomUndefined
	}
	return head[1]
}

// replyPort sends {reply, Ref, Reply}; a reply that cannot be encoded is answered {error, {badterm, Detail}}
// instead. False when nothing was sent.
func (s *server) replyPort(cl caller, ref, reply etf.Term) bool {
	err := cl.port.send(etf.Tuple{atomReply, ref, reply})
	if err != nil && !errors.Is(err, errPortClosed) {
		s.n.log.Warn("node: port reply does not encode", "ref", ref, "error", err)
		err = cl.port.send(etf.Tuple{atomReply, ref, errorTerm("badterm", []byte(err.Error()))})
	}
	return err == nil
}

// releaseCaller cancels the tasks and closes the streams cl holds.
func (s *server) releaseCaller(cl caller) {
	s.mu.Lock()
	h := s.holders[cl.pid]
	var held holdings
	if h != nil {
		held = s.dropLocked(h)
	}
	s.mu.Unlock()
	s.release(held)
}

// send encodes msg as a frame and queues it for the writer; it waits while the queue is full, and fails once
// the writer has stopped.
func (ps *portSession) send(msg etf.Term) error {
	b, err := etf.Encode(msg)
	if err != nil {
		return fmt.Errorf("node: port frame: %w", err)
	}
	select {
	case <-ps.dead:
		return errPortClosed
	default:
	}
	select {
	case ps.out <- b:
		return nil
	case <-ps.dead:
		return errPortClosed
	}
}

// writeLoop writes queued frames until out is closed, flushing whenever the queue runs empty. On a write error
// it stops taking frames and returns the error.
func (ps *portSession) writeLoop(pw *etf.PacketWriter, bw *bufio.Writer) error {
	defer close(ps.dead)
	for b := range ps.out {
		err := pw.WriteFrame(b)
	batch:
		for err == nil {
			select {
			case b, ok := <-ps.out:
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
			return fmt.Errorf("node: port write: %w", err)
		}
	}
	return nil
}

// makeRef returns a new reference: ergo's, or on a port session's node, which runs no ergo, the next port
// reference of this process.
func (n *Node) makeRef() etf.Ref {
	if n.ergo == nil {
		seq := portRefSeq.Add(1)
		return etf.Ref{Node: etf.Atom(n.name), Creation: portCreation,
			ID: [5]uint32{uint32(seq & 0x3ffff), uint32(seq >> 18), uint32(seq >> 50)}}
	}
	return n.ergo.MakeRef()
}
