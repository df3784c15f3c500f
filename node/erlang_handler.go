package node

import (
	"context"
	"sync"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
	"github.com/hornbeam-go/hornbeam/node/internal/dist"
	"github.com/hornbeam-go/hornbeam/proto"
)

// Erlang handlers (docs/protocol.md, "Erlang handlers"): {reg, AppPath, {erlang, Server}} makes Server, a pid on
// a connected node, the handler of AppPath. Calls reach it as gen_server calls from hornbeam_hooks; replies,
// and the stream messages of its producers, come back to hornbeam_hooks.

const (
	atomExitClass    = etf.Atom("exit")
	atomNoconnection = etf.Atom("noconnection")

	// kindErlang is the hooks.Info Kind of Erlang handlers.
	kindErlang = "erlang"
)

// erlangHandler is the hooks.Handler of an Erlang process. The process is monitored: when it exits or its node
// disconnects the hook is unregistered and calls waiting on it fail.
type erlangHandler struct {
	s       *server
	appPath string
	server  etf.Pid
	mon     etf.Ref

	downOnce sync.Once
	down     chan struct{} // closed when the server is gone; reason is set before
	reason   etf.Term
}

// regErlang serves {reg, AppPath, {erlang, Server}}.
func (s *server) regErlang(appPath string, server etf.Pid) etf.Term {
	c := s.n.conn(server.Node)
	if c == nil {
		return hooks.Reply(nil, hooks.BadArg("node: "+string(server.Node)+" is not connected"))
	}
	h := &erlangHandler{s: s, appPath: appPath, server: server, mon: s.n.ergo.MakeRef(), down: make(chan struct{})}
	s.mu.Lock()
	s.handlers[h.mon] = h
	s.mu.Unlock()
	if err := c.SendMonitor(s.pid, server, h.mon); err != nil {
		s.handlerDown(h.mon, atomNoconnection)
		return hooks.Reply(nil, err)
	}
	if err := s.eng.Register(appPath, h); err != nil {
		s.handlerDown(h.mon, atomNoconnection)
		return hooks.Reply(nil, err)
	}
	return proto.AtomOK
}

// handlerDown ends the Erlang handler monitored under mon with reason: its hook goes if it is still the one
// registered, and waiting calls fail. False when mon is no such monitor.
func (s *server) handlerDown(mon etf.Ref, reason etf.Term) bool {
	s.mu.Lock()
	h := s.handlers[mon]
	delete(s.handlers, mon)
	s.mu.Unlock()
	if h == nil {
		return false
	}
	h.downOnce.Do(func() {
		h.reason = reason
		close(h.down)
	})
	if info, ok := s.eng.Find(h.appPath); ok && info.Kind == kindErlang && info.Owner == h.server {
		s.eng.Unregister(h.appPath)
	}
	return true
}

// Describe reports the kind erlang and the server pid.
func (h *erlangHandler) Describe() (string, etf.Term) { return kindErlang, h.server }

// Execute calls the server with {hornbeam_handle, AppPath, Action, Args, Kwargs, Opts}; the engine applies the
// result rule to its reply.
func (h *erlangHandler) Execute(ctx context.Context, call hooks.Call) (etf.Term, error) {
	return h.call(ctx, handleRequest(ctx, proto.AtomHornbeamHandle, call, etf.Map{}), false)
}

// Stream calls the server with {hornbeam_handle_stream, ...}; its reply {ok, StreamRef, Producer} starts a
// stream whose messages come to hornbeam_hooks.
func (h *erlangHandler) Stream(ctx context.Context, call hooks.Call) (hooks.Stream, error) {
	opts := etf.Map{{Key: proto.AtomWindow, Value: int64(hooks.DefaultWindow)}}
	r, err := h.call(ctx, handleRequest(ctx, proto.AtomHornbeamHandleStream, call, opts), true)
	if err != nil {
		return nil, err
	}
	if st, ok := r.(*erlangStream); ok {
		return st, nil
	}
	if t, ok := r.(etf.Tuple); ok && len(t) == 2 && t[0] == proto.AtomError {
		return nil, hooks.FromReason(t[1])
	}
	return nil, hooks.BadArg("node: Erlang stream handler replied " + brief(r))
}

// pendingCall is a call to an Erlang handler awaiting its reply. The reply of a stream call is turned into its
// *erlangStream by the connection's reader, before the stream's first message can arrive.
type pendingCall struct {
	h      *erlangHandler
	stream bool
	reply  chan etf.Term
}

// openErlStreamLocked registers the stream a {ok, StreamRef, Producer} reply announces and returns it; any
// other reply is returned as is. It runs on the connection's reader; s.mu is held.
func (s *server) openErlStreamLocked(h *erlangHandler, reply etf.Term) etf.Term {
	t, ok := reply.(etf.Tuple)
	if !ok || len(t) != 3 || t[0] != proto.AtomOK {
		return reply
	}
	ref, ok1 := t[1].(etf.Ref)
	producer, ok2 := t[2].(etf.Pid)
	if !ok1 || !ok2 {
		return reply
	}
	st := &erlangStream{h: h, ref: ref, producer: producer, refill: proto.Refill{Window: hooks.DefaultWindow},
		in: make(chan etf.Term, hooks.DefaultWindow+2), closed: make(chan struct{})}
	s.erlStreams[ref] = st
	return st
}

// call makes a gen_server call to the server and waits for its reply, the server's end, or ctx.
func (h *erlangHandler) call(ctx context.Context, req etf.Tuple, stream bool) (etf.Term, error) {
	s := h.s
	ref := s.n.ergo.MakeRef()
	pc := &pendingCall{h: h, stream: stream, reply: make(chan etf.Term, 1)}
	s.mu.Lock()
	s.pending[ref] = pc
	s.mu.Unlock()
	var err error
	if err = h.sendServer(h.server, etf.Tuple{dist.AtomGenCall, etf.Tuple{s.pid, ref}, req}); err == nil {
		select {
		case r := <-pc.reply:
			return r, nil
		case <-h.down:
			err = hooks.FromReason(etf.Tuple{proto.AtomErlang, atomExitClass, h.reason, etf.List{}})
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	s.abandon(ref, pc)
	return nil, err
}

// abandon forgets a call that no longer waits for its reply; a stream that a late reply opened is closed.
func (s *server) abandon(ref etf.Ref, pc *pendingCall) {
	s.mu.Lock()
	delete(s.pending, ref)
	var late etf.Term
	select {
	case late = <-pc.reply:
	default:
	}
	s.mu.Unlock()
	if st, ok := late.(*erlangStream); ok {
		_ = st.Close()
	}
}

// sendServer sends msg to pid on the server's node.
func (h *erlangHandler) sendServer(pid etf.Pid, msg etf.Term) error {
	c := h.s.n.conn(pid.Node)
	if c == nil {
		return hooks.FromReason(etf.Tuple{proto.AtomErlang, atomExitClass, atomNoconnection, etf.List{}})
	}
	return c.SendTo(pid, msg)
}

// handleRequest builds {Op, AppPath, Action, Args, Kwargs, Opts}, with ctx's deadline as Opts' timeout.
func handleRequest(ctx context.Context, op etf.Atom, call hooks.Call, opts etf.Map) etf.Tuple {
	if d, ok := ctx.Deadline(); ok {
		opts = append(opts, etf.Pair{Key: proto.AtomTimeout, Value: max(time.Until(d).Milliseconds(), 0)})
	}
	return proto.HandlerRequest(op, call, opts)
}

// erlangStream is a stream produced by an Erlang process: its messages arrive at hornbeam_hooks and are queued
// in in; consumed chunks are granted back to the producer half a window at a time.
type erlangStream struct {
	h        *erlangHandler
	ref      etf.Ref
	producer etf.Pid
	in       chan etf.Term // messages of the stream: by the credit rule at most a window of chunk messages, then the end

	pending []etf.Term // chunks of a {chunks, L} not yet returned
	refill  proto.Refill
	end     error // io.EOF or the failure, once the stream has ended

	closeOnce sync.Once
	closed    chan struct{}
}

// Next returns the next chunk, io.EOF at the end, or the stream's failure.
func (st *erlangStream) Next(ctx context.Context) (etf.Term, error) {
	for len(st.pending) == 0 {
		if st.end != nil {
			return nil, st.end
		}
		var msg etf.Term
		select {
		case msg = <-st.in:
		case <-st.closed:
			return nil, hooks.ErrCancelled
		case <-st.h.down:
			st.end = hooks.FromReason(etf.Tuple{proto.AtomErlang, atomExitClass, st.h.reason, etf.List{}})
			continue
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		pending, end, ok := proto.AppendStreamMsg(st.pending, msg)
		if ok {
			st.pending = pending
			if end != nil {
				st.end = end
				st.forget()
			}
			continue
		}
		st.end = hooks.BadArg("node: unexpected stream message " + brief(msg))
		st.forget()
		st.stopProducer()
	}
	v := st.pending[0]
	st.pending = st.pending[1:]
	if grant := st.refill.Took(st.end != nil); grant > 0 {
		if err := st.h.sendServer(st.producer, etf.Tuple{proto.AtomStreamCredit, st.ref, int64(grant)}); err != nil {
			st.h.s.n.log.Debug("node: stream credit not sent", "producer", st.producer, "error", err)
		}
	}
	return v, nil
}

// Close stops the producer if the stream has not ended; it may be called at any time, more than once.
func (st *erlangStream) Close() error {
	st.closeOnce.Do(func() {
		close(st.closed)
		if st.h.s.forgetErlStream(st.ref) {
			st.stopProducer()
		}
	})
	return nil
}

func (st *erlangStream) forget() { st.h.s.forgetErlStream(st.ref) }

func (st *erlangStream) stopProducer() {
	if err := st.h.sendServer(st.producer, etf.Tuple{proto.AtomStreamClose, st.ref}); err != nil {
		st.h.s.n.log.Debug("node: stream close not sent", "producer", st.producer, "error", err)
	}
}

// forgetErlStream stops routing messages of the Erlang stream ref; false when it was not routed.
func (s *server) forgetErlStream(ref etf.Ref) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.erlStreams[ref]
	delete(s.erlStreams, ref)
	return ok
}

// routeReply hands hornbeam_hooks the messages meant for Erlang handlers: a {Ref, Reply} answering one of
// their calls, or a {hornbeam_stream, StreamRef, Msg} of one of their streams. False for any other message.
func (s *server) routeReply(t etf.Tuple) bool {
	switch {
	case len(t) == 2:
		ref, ok := t[0].(etf.Ref)
		if !ok {
			return false
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		pc := s.pending[ref]
		if pc == nil {
			return false
		}
		delete(s.pending, ref)
		reply := t[1]
		if pc.stream {
			reply = s.openErlStreamLocked(pc.h, reply)
		}
		pc.reply <- reply
		return true
	case len(t) == 3 && t[0] == proto.AtomHornbeamStream:
		ref, ok := t[1].(etf.Ref)
		if !ok {
			return false
		}
		s.mu.Lock()
		st := s.erlStreams[ref]
		s.mu.Unlock()
		if st == nil {
			return false
		}
		select {
		case st.in <- t[2]:
		default:
			s.n.log.Warn("node: an Erlang stream producer exceeded its credit; message dropped", "producer", st.producer)
		}
		return true
	}
	return false
}
