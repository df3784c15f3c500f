package python

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
	"github.com/hornbeam-go/hornbeam/internal/loglimit"
	"github.com/hornbeam-go/hornbeam/internal/rawio"
	"github.com/hornbeam-go/hornbeam/internal/steptrace"
	"github.com/hornbeam-go/hornbeam/proto"
)

// ProtocolVersion is the frame protocol version of docs/python.md that this package speaks.
const ProtocolVersion = 1

// The atoms of the frame protocol (docs/python.md, "Frame protocol") that the hooks protocol has not: its
// requests are the hooks protocol's (package proto) with a request id after the op.
const (
	atomHello      = etf.Atom("hello")
	atomReady      = etf.Atom("ready")
	atomRegister   = etf.Atom("register")
	atomUnregister = etf.Atom("unregister")
	atomCredit     = etf.Atom("credit")
)

// KindWorkerExit is the error kind of calls in flight on a Python process that
// exited or disconnected: {worker_exit, Detail}, Detail a binary such as
// "signal: killed".
const KindWorkerExit = etf.Atom("worker_exit")

// workerExit returns the {worker_exit, Detail} error.
func workerExit(detail string) *hooks.Error {
	return &hooks.Error{Kind: KindWorkerExit, Detail: []byte(detail)}
}

// result is the outcome of a request this side sent.
type result struct {
	v   etf.Term
	err error
}

// link is the node's end of the frame protocol with one Python process, a
// worker's pipes or an attached process's socket. One goroutine reads, through
// a buffer, so that a frame that has arrived whole costs one read(2); frames are
// encoded straight into one write buffer and written whole under wmu. Pipes and
// sockets are read and written with rawio's raw system calls, which stay out of
// the scheduler's syscall state; a read polls for up to the pool's spin before
// it parks, yielding the CPU between polls, and a caller polls for its reply
// (pollReply), so a quick call costs no thread's wakeup on either side (see
// docs/python.md, "Latency"). An execute from the process runs on the reader
// (runInline). The link
// owns the goroutines that serve the process's requests; shutdown cancels them
// and fails what waits on the process.
type link struct {
	pool *Pool
	name string
	slot int // the worker slot, 0 for an attached process
	r    *etf.PacketReader
	in   io.Closer // the read side, closed by shutdown
	out  io.Closer // the write side; closing it is EOF for the process
	log  *slog.Logger
	// warns rate-limits the warnings about the process's frames.
	warns loglimit.Limit

	wmu  sync.Mutex
	w    io.Writer
	wbuf []byte // the frame being written: header, then the encoded term

	ctx    context.Context // cancelled at shutdown: ends the process's requests
	cancel context.CancelCauseFunc

	ids  atomic.Int64
	busy atomic.Int64 // calls and streams in flight on the process
	// canSpin: the process has more than one P, so a caller polling for its reply leaves the reader one; quick:
	// the last call's reply came within the pool's spin (see pollReply).
	canSpin bool
	quick   atomic.Bool
	polling atomic.Int32 // callers in pollReply
	probe   rawio.Probe  // while quick is off, which calls poll anyway

	mu      sync.Mutex
	closed  bool
	err     *hooks.Error
	pending map[int64]waiter
	streams map[int64]*pyStream
	served  map[int64]*served
	paths   map[string]bool

	// load tells the read side's rawio.Socket when nothing is due from the process (Idle): no call of ours in
	// flight and the last frame not a request of its own (a caller's next request comes a round trip after
	// our reply). An idle read spins for rawio.IdleGrace at most, in case a call starts (which clears Idle).
	load   *rawio.Load
	rd     rawio.Reader // the reader's generation and whether it runs a call inline, for the pool's watchdog
	inline inlineCall   // the call the reader runs inline, if any; under mu

	osPid int64
	hello chan struct{} // closed at hello
	ready chan struct{} // closed at ready
	eof   chan struct{} // closed when the reader stops at the end of the input
	done  chan struct{} // closed at the end of shutdown
	wg    sync.WaitGroup
}

// inlineCall is the process's execute that the link's reader runs itself: its id, and how to cancel it once
// reading was handed off, so that a {cancel, Id} can be read.
type inlineCall struct {
	id     int64
	cancel context.CancelFunc
}

// inlineKey is the context key under which an inline call's context finds itself.
type inlineKey struct{}

// inlineCtx is the context of a call run inline on the reader of l, which Enter marked with word: a call that
// waits on a Python process (call, stream) hands reading off first, as the reply may be for the reader to read.
type inlineCtx struct {
	context.Context
	l    *link
	word uint64
}

// Value returns the inlineCtx itself for inlineKey.
func (c *inlineCtx) Value(key any) any {
	if key == (inlineKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// handOffIfInline hands off reading when ctx is that of a call run inline on a link's reader.
func handOffIfInline(ctx context.Context) {
	if c, ok := ctx.Value(inlineKey{}).(*inlineCtx); ok {
		c.l.rd.HandOffNow(c.word)
	}
}

// served is a request from the process that the node is running.
type served struct {
	cancel context.CancelFunc
	credit *proto.Credit // a stream's
}

// readBuffer is the size of a link's read buffer: a read(2) takes in whatever frames have arrived, up to this.
const readBuffer = 64 << 10

// keepWriteBuffer is the largest write buffer a link keeps between frames.
const keepWriteBuffer = 1 << 20

func newLink(p *Pool, name string, r io.Reader, in io.Closer, w io.Writer, out io.Closer) *link {
	load := &rawio.Load{}
	pr, _ := etf.NewPacketReader(bufio.NewReaderSize(raw(r, p.spin, load), readBuffer), etf.Packet4)
	l := &link{
		pool: p, name: name, load: load, r: pr, in: in, out: out, w: raw(w, p.spin, &rawio.Load{}),
		log:     p.log.With("python", name),
		pending: map[int64]waiter{}, streams: map[int64]*pyStream{}, served: map[int64]*served{},
		paths: map[string]bool{},
		hello: make(chan struct{}), ready: make(chan struct{}), eof: make(chan struct{}), done: make(chan struct{}),
	}
	l.canSpin = runtime.GOMAXPROCS(0) > 1 && p.spin > 0
	l.quick.Store(true)
	l.probe.Every = rawio.ProbeEvery
	l.ctx, l.cancel = context.WithCancelCause(context.Background())
	l.rd.HandOff = l.handOff
	p.watch.Add(&l.rd)
	go l.read(0)
	return l
}

// raw returns a rawio.Socket on f's file descriptor, whose reads spin for up to spin and which load tells when
// not to, when f is a pipe or socket on Go's poller, else f.
func raw[F any](f F, spin time.Duration, load *rawio.Load) F {
	if sc, ok := any(f).(syscall.Conn); ok {
		if s := rawio.NewConn(sc, spin, load); s != nil {
			if rw, ok := any(s).(F); ok {
				return rw
			}
		}
	}
	return f
}

// frameHeader is the size of a frame's {packet,4} length prefix.
const frameHeader = 4

// appendRequest appends the request frame {Op, Id, AppPath, Action, Args, Kwargs[, Extra]} of call to dst,
// version byte included, without building the tuple, the args list or an empty kwargs map; dst is returned
// unchanged on error.
func appendRequest(dst []byte, op etf.Atom, id int64, call hooks.Call, extra ...etf.Term) ([]byte, error) {
	b := etf.AppendTupleHead(etf.AppendVersion(dst), 6+len(extra))
	var err error
	for _, t := range []etf.Term{op, id, call.AppPath, call.Action} {
		if b, err = etf.AppendTerm(b, t); err != nil {
			return dst, err
		}
	}
	if len(call.Args) > 0 {
		b = etf.AppendListHead(b, len(call.Args))
		for _, t := range call.Args {
			if b, err = etf.AppendTerm(b, t); err != nil {
				return dst, err
			}
		}
	}
	b = etf.AppendNil(b)
	if len(call.Kwargs) == 0 {
		b = etf.AppendMapHead(b, 0)
	} else if b, err = etf.AppendTerm(b, call.Kwargs); err != nil {
		return dst, err
	}
	for _, t := range extra {
		if b, err = etf.AppendTerm(b, t); err != nil {
			return dst, err
		}
	}
	return b, nil
}

// sendRequest writes the request frame of call (see appendRequest) as send writes a term.
func (l *link) sendRequest(op etf.Atom, id int64, call hooks.Call, extra ...etf.Term) (encErr, err error) {
	return l.sendWith(func(b []byte) ([]byte, error) { return appendRequest(b, op, id, call, extra...) })
}

// send encodes t straight into the write buffer and writes it as one frame. A
// term that does not encode is encErr (nothing is written); a write fails (err)
// only when the process's end is gone, and then the reader soon sees the end too.
func (l *link) send(t etf.Term) (encErr, err error) {
	return l.sendWith(func(b []byte) ([]byte, error) { return etf.AppendEncode(b, t) })
}

// sendWith writes the frame that encode appends to the write buffer; encErr and err are as for send.
func (l *link) sendWith(encode func([]byte) ([]byte, error)) (encErr, err error) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	b, encErr := encode(append(l.wbuf[:0], 0, 0, 0, 0))
	switch {
	case encErr != nil:
		return encErr, nil
	case len(b)-frameHeader > math.MaxUint32:
		return fmt.Errorf("%w: %d bytes do not fit a {packet,4} header", etf.ErrFrameTooLarge, len(b)-frameHeader), nil
	}
	binary.BigEndian.PutUint32(b, uint32(len(b)-frameHeader))
	_, err = l.w.Write(b)
	if cap(b) <= keepWriteBuffer {
		l.wbuf = b[:0]
	} else {
		l.wbuf = nil
	}
	return nil, err
}

// read reads frames as the reader of generation gen until the process's end closes, then closes eof; or
// until reading was handed off to the next generation while it ran a call inline.
func (l *link) read(gen uint64) {
	for {
		frame, err := l.r.ReadFrame()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				l.log.Warn("python: reading frames", "err", err)
			}
			close(l.eof)
			return
		}
		t, err := etf.Decode(frame)
		if err != nil {
			l.warn("python: dropped a frame that does not decode", "err", err)
			continue
		}
		l.handle(t)
		l.markIdle(t)
		if l.polling.Load() > 0 {
			// A caller polls for its reply, perhaps the one just delivered, and perhaps on this core: give
			// it the core now rather than after another empty read.
			rawio.Yield()
		}
		if l.rd.Gen() != gen {
			return
		}
	}
}

// markIdle sets the link's Idle after frame t: no call in flight and t not a request. A call that starts
// meanwhile clears Idle after counting itself busy, so the second look keeps it from being left set.
func (l *link) markIdle(t etf.Term) {
	idle := l.busy.Load() == 0 && !isRequest(t)
	l.load.Idle.Store(idle)
	if idle && l.busy.Load() != 0 {
		l.load.Idle.Store(false)
	}
}

// isRequest reports whether t is a request frame the process makes of the node, a call of its own.
func isRequest(t etf.Term) bool {
	msg, ok := t.(etf.Tuple)
	if !ok || len(msg) == 0 {
		return false
	}
	switch msg[0] {
	case proto.AtomExecute, proto.AtomExecuteAsync, proto.AtomAwaitResult, proto.AtomStream:
		return true
	}
	return false
}

// handOff starts the reader of generation gen while the current one runs a call inline, and makes that call
// cancellable by the {cancel, Id} the new reader may read.
func (l *link) handOff(gen uint64) {
	l.mu.Lock()
	if in := l.inline; in.cancel != nil && !l.closed {
		l.served[in.id] = &served{cancel: in.cancel}
	}
	l.mu.Unlock()
	go l.read(gen)
}

// runInline runs the process's execute r on the reader itself: a quick Go hook costs no goroutine and no
// wakeup. When it is still running at a watchdog tick handOffAfter or more after it started (see rawio), or
// when it waits on a Python process, reading goes on in a new goroutine meanwhile, so a slow hook holds up the
// frames behind it for a few milliseconds at most.
func (l *link) runInline(id int64, r proto.Request) {
	ctx, cancel := context.WithCancel(l.ctx)
	defer cancel()
	l.mu.Lock()
	l.inline = inlineCall{id: id, cancel: cancel}
	l.mu.Unlock()
	word := l.rd.Enter()
	l.pool.watch.Poke()
	reply, _ := l.pool.srv.Serve(proto.Inline(&inlineCtx{Context: ctx, l: l, word: word}), proto.Caller{}, r)
	handedOff := !l.rd.Leave(word)
	l.mu.Lock()
	l.inline = inlineCall{}
	if handedOff {
		delete(l.served, id)
	}
	l.mu.Unlock()
	if ctx.Err() == nil {
		l.send(etf.Tuple{proto.AtomReply, id, reply})
	}
}

// shutdown ends the link with err: the process's requests are cancelled and
// what waits on the process fails with err. It runs once; later calls wait
// for the first.
func (l *link) shutdown(err *hooks.Error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.done
		return
	}
	l.closed, l.err = true, err
	pending, streams, paths := l.pending, l.streams, l.paths
	l.pending, l.streams, l.paths = nil, nil, nil
	l.mu.Unlock()

	l.cancel(err)
	l.pool.watch.Remove(&l.rd)
	l.out.Close()
	l.in.Close()
	for _, w := range pending {
		l.deliver(w, result{err: err})
	}
	for _, s := range streams {
		s.feed(nil, err)
	}
	for path := range paths {
		l.pool.drop(l, path)
	}
	l.wg.Wait()
	close(l.done)
}

// warn logs a warning about the process's frames unless they are being held back (loglimit).
func (l *link) warn(msg string, args ...any) {
	ok, held := l.warns.Allow(time.Now())
	if !ok {
		return
	}
	if held > 0 {
		args = append(args, "suppressed", held)
	}
	l.log.Warn(msg, args...)
}

// handle dispatches one frame from the process.
func (l *link) handle(t etf.Term) {
	msg, ok := t.(etf.Tuple)
	if !ok || len(msg) == 0 {
		l.warn("python: bad frame", "frame", etf.Brief(t, etf.BriefDepth, etf.BriefBytes))
		return
	}
	tag, _ := msg[0].(etf.Atom)
	if tag == atomReady && len(msg) == 1 {
		closeOnce(l.ready)
		return
	}
	if len(msg) < 2 {
		l.warn("python: bad frame", "frame", etf.Brief(t, etf.BriefDepth, etf.BriefBytes))
		return
	}
	id, idOK := msg[1].(int64)
	switch {
	case tag == atomHello && len(msg) == 3 && idOK:
		if id != ProtocolVersion {
			l.log.Error("python: unknown protocol version; closing", "version", id, "want", ProtocolVersion)
			l.out.Close()
			return
		}
		l.osPid, _ = msg[2].(int64)
		closeOnce(l.hello)
	case !idOK:
		l.warn("python: bad frame", "frame", etf.Brief(t, etf.BriefDepth, etf.BriefBytes))
	case tag == proto.AtomReply && len(msg) == 3:
		l.onReply(id, msg[2])
	case tag == proto.AtomChunk && len(msg) == 3:
		l.onChunks(id, []etf.Term{msg[2]}, nil)
	case tag == proto.AtomChunks && len(msg) == 3:
		chunks, ok := etf.Elems(msg[2])
		if !ok {
			l.warn("python: bad frame", "frame", etf.Brief(t, etf.BriefDepth, etf.BriefBytes))
			return
		}
		l.onChunks(id, chunks, nil)
	case tag == proto.AtomDone && len(msg) == 2:
		l.onChunks(id, nil, io.EOF)
	case tag == proto.AtomError && len(msg) == 3:
		l.onChunks(id, nil, hooks.FromReason(msg[2]))
	case tag == atomCredit && len(msg) == 3:
		n, _ := msg[2].(int64)
		l.onCredit(id, n)
	case tag == proto.AtomCancel && len(msg) == 2:
		l.onCancel(id)
	default:
		if !l.serve(tag, id, msg) {
			l.warn("python: bad request", "frame", etf.Brief(t, etf.BriefDepth, etf.BriefBytes))
			l.reply(id, nil, &hooks.Error{Kind: proto.AtomBadRequest, Detail: t})
		}
	}
}

func closeOnce(ch chan struct{}) {
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// reply sends {reply, Id, {ok, V} | {error, R}}.
func (l *link) reply(id int64, v etf.Term, err error) {
	if encErr, e := l.send(etf.Tuple{proto.AtomReply, id, hooks.Reply(v, err)}); encErr != nil || e != nil {
		l.log.Debug("python: reply not sent", "id", id, "err", errors.Join(encErr, e))
	}
}

// hooksRequest strips a request frame {Op, Id, Args...} of its id and reads the hooks-protocol request
// {Op, Args...} left; a stream's window, its last element, is read apart (window set, -1 for none).
func hooksRequest(msg etf.Tuple) (r proto.Request, window int64, ok bool) {
	window = -1
	req := append(etf.Tuple{msg[0]}, msg[2:]...)
	if msg[0] == proto.AtomStream {
		w, isInt := req[len(req)-1].(int64)
		if !isInt || w < 0 {
			return r, 0, false
		}
		window, req = w, req[:len(req)-1]
	}
	r, ok = proto.Parse(req)
	return r, window, ok
}

// serve starts a request from the process; false if msg is not one.
func (l *link) serve(tag etf.Atom, id int64, msg etf.Tuple) bool {
	switch {
	case tag == atomRegister && len(msg) == 5:
		path, ok := etf.Text(msg[2])
		if !ok {
			return false
		}
		l.reply(id, proto.AtomOK, l.pool.register(l, path))
		return true
	case tag == atomUnregister && len(msg) == 3:
		path, ok := etf.Text(msg[2])
		if !ok {
			return false
		}
		l.mu.Lock()
		mine := l.paths[path]
		delete(l.paths, path)
		l.mu.Unlock()
		if mine {
			l.pool.drop(l, path)
		}
		l.reply(id, proto.AtomOK, nil)
		return true
	case tag == proto.AtomExecute && len(msg) == 6, tag == proto.AtomExecuteAsync && len(msg) == 6,
		tag == proto.AtomAwaitResult && len(msg) == 4, tag == proto.AtomStream && len(msg) == 7:
	default:
		return false
	}
	r, window, ok := hooksRequest(msg)
	if !ok {
		return false
	}
	switch r.Op {
	case proto.AtomExecuteAsync:
		reply, _ := l.pool.srv.Serve(l.ctx, proto.Caller{}, r)
		l.send(etf.Tuple{proto.AtomReply, id, reply})
	case proto.AtomStream:
		r.Call.Window = int(window)
		l.start(id, int(window), func(ctx context.Context, s *served) { l.pump(ctx, id, s, r.Call) })
	case proto.AtomExecute:
		l.runInline(id, r)
	default:
		l.start(id, 0, func(ctx context.Context, _ *served) {
			reply, _ := l.pool.srv.Serve(ctx, proto.Caller{}, r)
			if ctx.Err() == nil {
				l.send(etf.Tuple{proto.AtomReply, id, reply})
			}
		})
	}
	return true
}

// start runs f for request id on a goroutine the link waits for; {cancel, Id} cancels its context, and
// {credit, Id, N} adds to its credit, which starts at window.
func (l *link) start(id int64, window int, f func(ctx context.Context, s *served)) {
	ctx, cancel := context.WithCancel(l.ctx)
	s := &served{cancel: cancel, credit: proto.NewCredit(window)}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		cancel()
		return
	}
	l.served[id] = s
	l.wg.Add(1)
	l.mu.Unlock()
	go func() {
		defer l.wg.Done()
		defer func() {
			l.mu.Lock()
			delete(l.served, id)
			l.mu.Unlock()
			cancel()
		}()
		f(ctx, s)
	}()
}

// pump runs a stream the process asked for: proto.Produce sends its chunks as credit allows, each stream
// message {Tag, Args...} going out as the frame {Tag, Id, Args...}.
func (l *link) pump(ctx context.Context, id int64, s *served, call hooks.Call) {
	st, err := l.pool.eng.Stream(ctx, call)
	if err != nil {
		l.send(etf.Tuple{proto.AtomError, id, hooks.ReasonOf(err)})
		return
	}
	defer st.Close()
	proto.Produce(ctx, st, s.credit, func(msg etf.Term) bool {
		frame := etf.Tuple{msg, id}
		if t, ok := msg.(etf.Tuple); ok {
			frame = append(etf.Tuple{t[0], id}, t[1:]...)
		}
		encErr, err := l.send(frame)
		return encErr == nil && err == nil
	}, l.spawn)
}

// spawn runs f on a goroutine the link waits for; it is called from one the link waits for already.
func (l *link) spawn(f func()) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		f()
	}()
}

func (l *link) onCredit(id, n int64) {
	l.mu.Lock()
	s := l.served[id]
	l.mu.Unlock()
	if s == nil || n <= 0 {
		return
	}
	s.credit.Grant(int(n))
}

func (l *link) onCancel(id int64) {
	l.mu.Lock()
	s := l.served[id]
	l.mu.Unlock()
	if s != nil {
		s.cancel()
	}
}

// replyChans holds reply channels for reuse: a channel goes back once its one reply was received, never
// when its call was abandoned (a reply may still be sent to it).
var replyChans = sync.Pool{New: func() any { return make(chan result, 1) }}

// waiter is who waits for the reply to a request this side sent: a goroutine on ch, or, for a deferred call,
// done, which the goroutine that brings the reply calls.
type waiter struct {
	ch   chan result
	done func(etf.Term, error)
}

// request registers w under a new request id; the link's error if it is closed.
func (l *link) request(w waiter) (int64, error) {
	id := l.ids.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, l.err
	}
	l.pending[id] = w
	return id, nil
}

// forget removes the waiter of id and returns it; false when it is gone already (answered or failed).
func (l *link) forget(id int64) (waiter, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.pending[id]
	if ok {
		delete(l.pending, id)
	}
	return w, ok
}

// deliver hands r to w, a call that stops counting as busy here (so that the reader knows at once whether
// it waits for more); a deferred call's done runs here.
func (l *link) deliver(w waiter, r result) {
	l.busy.Add(-1)
	if w.done == nil {
		w.ch <- r
		return
	}
	w.done(r.v, r.err)
}

func (l *link) onReply(id int64, r etf.Term) {
	steptrace.Mark(steptrace.LinkReply)
	w, ok := l.forget(id)
	if !ok {
		return
	}
	t, isTuple := r.(etf.Tuple)
	switch {
	case isTuple && len(t) == 2 && t[0] == proto.AtomOK:
		l.deliver(w, result{v: t[1]})
	case isTuple && len(t) == 2 && t[0] == proto.AtomError:
		l.deliver(w, result{err: hooks.FromReason(t[1])})
	default:
		l.deliver(w, result{err: &hooks.Error{Kind: proto.AtomBadRequest, Detail: r}})
	}
}

// call runs call on the process and waits for its reply, ctx, or the link's end.
func (l *link) call(ctx context.Context, call hooks.Call) (etf.Term, error) {
	ch := replyChans.Get().(chan result)
	l.busy.Add(1)
	l.load.Idle.Store(false)
	id, err := l.request(waiter{ch: ch})
	if err != nil {
		l.busy.Add(-1)
		replyChans.Put(ch)
		return nil, err
	}
	handOffIfInline(ctx)
	sent := rawio.MonoNow()
	encErr, err := l.sendRequest(proto.AtomCall, id, call)
	if encErr != nil {
		l.abandon(id)
		return nil, hooks.BadArg(fmt.Sprintf("python: %v", encErr))
	}
	if err != nil {
		l.log.Debug("python: call not sent; waiting for the end of the link", "err", err)
	}
	if r, ok := l.pollReply(ch, sent); ok {
		replyChans.Put(ch)
		return r.v, r.err
	}
	select {
	case r := <-ch:
		l.quick.Store(rawio.MonoNow()-sent <= int64(l.pool.spin))
		replyChans.Put(ch)
		return r.v, r.err
	case <-ctx.Done():
		l.abandon(id)
		l.send(etf.Tuple{proto.AtomCancel, id})
		return nil, ctx.Err()
	}
}

// abandon forgets the call id that its caller stops waiting for, which then stops counting as busy; false
// when its reply was delivered meanwhile (and it stopped counting then).
func (l *link) abandon(id int64) bool {
	_, ok := l.forget(id)
	if ok {
		l.busy.Add(-1)
	}
	return ok
}

// pollReply polls ch for the reply to a call sent at sent (rawio.MonoNow), yielding the CPU between polls, for
// up to the pool's spin, when this is the link's only call in flight, a spinning goroutine leaves another P to
// the reader, and the last reply came that fast (or a probe says to try): a reply that finds its caller
// polling costs no wakeup, while one that finds it parked costs a thread's wakeup, on a VM more than a quick
// call's whole round trip.
func (l *link) pollReply(ch chan result, sent int64) (result, bool) {
	if !l.canSpin || l.busy.Load() != 1 || !l.quick.Load() && !l.probe.Try() {
		return result{}, false
	}
	l.polling.Add(1)
	defer l.polling.Add(-1)
	for {
		select {
		case r := <-ch:
			l.quick.Store(true)
			return r, true
		default:
		}
		if rawio.MonoNow()-sent > int64(l.pool.spin) {
			l.quick.Store(false)
			return result{}, false
		}
		rawio.Yield()
	}
}

// callDeferred sends call to the process and returns at once; done gets the reply, on the link's reader (or
// the link's end, on the goroutine that shuts it down), perhaps before callDeferred returns. The function
// returned abandons the call: done is not called for it any more, and the process gets {cancel, Id}.
func (l *link) callDeferred(call hooks.Call, done func(etf.Term, error)) (abandon func()) {
	l.busy.Add(1)
	l.load.Idle.Store(false)
	id, err := l.request(waiter{done: done})
	if err != nil {
		l.busy.Add(-1)
		done(nil, err)
		return func() {}
	}
	abandon = func() {
		if l.abandon(id) {
			l.send(etf.Tuple{proto.AtomCancel, id})
		}
	}
	steptrace.Mark(steptrace.PipeWriteStart)
	encErr, err := l.sendRequest(proto.AtomCall, id, call)
	steptrace.Mark(steptrace.PipeWriteEnd)
	if encErr != nil {
		if w, ok := l.forget(id); ok {
			l.deliver(w, result{err: hooks.BadArg(fmt.Sprintf("python: %v", encErr))})
		}
		return abandon
	}
	if err != nil {
		l.log.Debug("python: call not sent; waiting for the end of the link", "err", err)
	}
	return abandon
}
