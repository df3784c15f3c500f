package node

import (
	"context"
	"io"
	"sync/atomic"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
)

// stream is an open stream: its producer goroutine sends chunks to the caller while it holds credit, and stops
// at the end, on {hornbeam_stream_close, Ref}, or when the caller goes.
type stream struct {
	ref    etf.Ref
	h      *holder
	src    hooks.Stream
	ctx    context.Context
	cancel context.CancelFunc
	credit atomic.Int64
	wake   chan struct{} // credit arrived
}

// openStream opens call as a stream for cl and returns the reply {ok, StreamRef} and the func that starts the
// producer once the reply is sent.
func (s *server) openStream(cl caller, call hooks.Call, opts callOpts) (etf.Term, func()) {
	parent := s.n.ctx
	if cl.conn != nil {
		parent = cl.conn.ctx
	}
	ctx, cancel := context.WithCancel(parent)
	src, err := s.eng.Stream(ctx, call)
	if err != nil {
		cancel()
		return hooks.Reply(nil, err), nil
	}
	st := &stream{ref: s.n.ergo.MakeRef(), src: src, ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1)}
	st.credit.Store(int64(opts.window))
	s.mu.Lock()
	h, isNew := s.holderLocked(cl)
	st.h = h
	h.streams[st.ref] = st
	s.streams[st.ref] = st
	s.mu.Unlock()
	if isNew {
		s.monitor(h)
	}
	return etf.Tuple{atomOK, st.ref}, func() { s.spawn(func() { s.produce(st) }) }
}

// produce sends st's chunks to its caller, one per credit, then done or {error, Reason}.
func (s *server) produce(st *stream) {
	defer s.endStream(st)
	for {
		for st.credit.Load() <= 0 {
			select {
			case <-st.wake:
			case <-st.ctx.Done():
				return
			}
		}
		v, err := st.src.Next(st.ctx)
		if st.ctx.Err() != nil {
			return
		}
		var msg etf.Term
		switch {
		case err == io.EOF:
			msg = atomDone
		case err != nil:
			msg = etf.Tuple{atomError, hooks.ReasonOf(err)}
		default:
			st.credit.Add(-1)
			msg = etf.Tuple{atomChunk, v}
		}
		if serr := s.send(st.h.cl, etf.Tuple{atomHornbeamStream, st.ref, msg}); serr != nil || err != nil {
			return
		}
	}
}

// grant adds n credits to the stream ref.
func (s *server) grant(ref etf.Ref, n int) {
	s.mu.Lock()
	st := s.streams[ref]
	s.mu.Unlock()
	if st == nil {
		return
	}
	st.credit.Add(int64(n))
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// closeStream stops the stream ref early; its producer sends nothing more.
func (s *server) closeStream(ref etf.Ref) {
	s.mu.Lock()
	st := s.streams[ref]
	s.mu.Unlock()
	if st != nil {
		st.cancel()
		_ = st.src.Close()
	}
}

// endStream closes st and forgets it; a holder left with nothing is no longer monitored.
func (s *server) endStream(st *stream) {
	st.cancel()
	_ = st.src.Close()
	s.mu.Lock()
	delete(s.streams, st.ref)
	delete(st.h.streams, st.ref)
	dropped := s.releaseIfEmptyLocked(st.h)
	s.mu.Unlock()
	if dropped {
		s.demonitor(st.h)
	}
}
