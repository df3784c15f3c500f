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
	st := &stream{ref: s.n.makeRef(), src: src, ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1)}
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

// maxBatch bounds the chunks sent in one {chunks, [Chunk]} message.
const maxBatch = 256

// streamItem is one result of a stream's Next.
type streamItem struct {
	v   etf.Term
	err error
}

// produce sends st's chunks to its caller, then done or {error, Reason}. A puller goroutine takes chunks while
// there is credit; this one sends what has piled up meanwhile as one {chunks, [Chunk]} message, so a fast
// producer costs one packet per batch, not per chunk.
func (s *server) produce(st *stream) {
	defer s.endStream(st)
	items := make(chan streamItem, maxBatch)
	s.spawn(func() { s.pull(st, items) })
	batch := make(etf.List, 0, maxBatch)
	for {
		var it streamItem
		select {
		case it = <-items:
		case <-st.ctx.Done():
			return
		}
		batch = batch[:0]
		for it.err == nil {
			batch = append(batch, it.v)
			if len(batch) == maxBatch {
				break
			}
			select {
			case it = <-items:
				continue
			default:
			}
			break
		}
		if len(batch) > 0 && !s.sendStream(st, chunksMsg(batch)) {
			return
		}
		if it.err != nil {
			msg := etf.Term(atomDone)
			if it.err != io.EOF {
				msg = etf.Tuple{atomError, hooks.ReasonOf(it.err)}
			}
			s.sendStream(st, msg)
			return
		}
	}
}

// chunksMsg is {chunk, C} for one chunk and {chunks, [C...]} for several; it copies batch.
func chunksMsg(batch etf.List) etf.Term {
	if len(batch) == 1 {
		return etf.Tuple{atomChunk, batch[0]}
	}
	return etf.Tuple{atomChunks, append(etf.List(nil), batch...)}
}

// sendStream sends {hornbeam_stream, StreamRef, msg} to st's caller unless the stream was stopped; false when it
// was not sent.
func (s *server) sendStream(st *stream, msg etf.Term) bool {
	if st.ctx.Err() != nil {
		return false
	}
	return s.send(st.h.cl, etf.Tuple{atomHornbeamStream, st.ref, msg}) == nil
}

// pull takes st's chunks, one per credit, into items until the end, a failure, or the stream's stop.
func (s *server) pull(st *stream, items chan<- streamItem) {
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
		st.credit.Add(-1)
		select {
		case items <- streamItem{v, err}:
		case <-st.ctx.Done():
			return
		}
		if err != nil {
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
