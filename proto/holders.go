package proto

import (
	"context"
	"runtime/debug"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
)

// holder is a caller that holds async tasks or streams, monitored under mon.
type holder struct {
	cl      Caller
	mon     etf.Ref
	tasks   map[hooks.TaskID]struct{}
	streams map[etf.Ref]*stream
}

// holderLocked returns cl's holder; a new one must be passed to Watch once s.mu is released. s.mu is held.
func (s *Server) holderLocked(cl Caller) (h *holder, isNew bool) {
	if h := s.holders[cl.Pid]; h != nil {
		return h, false
	}
	h = &holder{cl: cl, mon: cl.T.Monitor(cl.Pid), tasks: make(map[hooks.TaskID]struct{}), streams: make(map[etf.Ref]*stream)}
	s.holders[cl.Pid] = h
	s.byMon[h.mon] = h
	return h, true
}

// holdTask records that cl holds task id; a caller with no pid holds nothing.
func (s *Server) holdTask(cl Caller, id hooks.TaskID) {
	if cl.Pid == (etf.Pid{}) {
		return
	}
	s.mu.Lock()
	h, isNew := s.holderLocked(cl)
	h.tasks[id] = struct{}{}
	s.tasks[id] = h
	s.mu.Unlock()
	if isNew {
		cl.T.Watch(cl.Pid, h.mon)
	}
}

// forgetTask stops tracking task id once its result was taken or it was cancelled.
func (s *Server) forgetTask(id hooks.TaskID) {
	s.mu.Lock()
	h := s.tasks[id]
	dropped := false
	if h != nil {
		delete(s.tasks, id)
		delete(h.tasks, id)
		dropped = s.releaseIfEmptyLocked(h)
	}
	s.mu.Unlock()
	if dropped {
		h.cl.T.Demonitor(h.cl.Pid, h.mon)
	}
}

// releaseIfEmptyLocked drops h when it holds nothing and reports whether it did; the caller then demonitors h
// once s.mu is released. s.mu is held.
func (s *Server) releaseIfEmptyLocked(h *holder) bool {
	if len(h.tasks) > 0 || len(h.streams) > 0 || s.holders[h.cl.Pid] != h {
		return false
	}
	s.dropLocked(h)
	return true
}

// holdings is what a dropped holder held, to be released once s.mu is released.
type holdings struct {
	tasks   []hooks.TaskID
	streams []*stream
}

// Down releases what the caller monitored under ref held, as its transport reports the caller's end; false
// when ref is no such monitor.
func (s *Server) Down(ref etf.Ref) bool {
	s.mu.Lock()
	h := s.byMon[ref]
	var held holdings
	if h != nil {
		held = s.dropLocked(h)
	}
	s.mu.Unlock()
	if h == nil {
		return false
	}
	s.release(held)
	return true
}

// Gone releases what every caller reached through t held: t has ended (a peer's connection, a port session).
func (s *Server) Gone(t Transport) {
	var gone []holdings
	s.mu.Lock()
	for _, h := range s.holders {
		if h.cl.T == t {
			gone = append(gone, s.dropLocked(h))
		}
	}
	s.mu.Unlock()
	for _, held := range gone {
		s.release(held)
	}
}

// dropLocked forgets h and returns what it held. s.mu is held.
func (s *Server) dropLocked(h *holder) holdings {
	var held holdings
	delete(s.holders, h.cl.Pid)
	delete(s.byMon, h.mon)
	for ref, st := range h.streams {
		delete(s.streams, ref)
		held.streams = append(held.streams, st)
	}
	for id := range h.tasks {
		delete(s.tasks, id)
		held.tasks = append(held.tasks, id)
	}
	clear(h.streams)
	clear(h.tasks)
	return held
}

// bigRelease is how many tasks a caller that went must have held for the memory their results pinned to be handed
// back to the system at once: with no garbage collection due, an idle node would keep it for minutes.
const bigRelease = 10_000

// release cancels dropped tasks and drops their results, whose caller has gone, and closes dropped streams.
func (s *Server) release(held holdings) {
	for _, id := range held.tasks {
		s.eng.Release(id)
	}
	if len(held.tasks) >= bigRelease {
		s.Go(debug.FreeOSMemory)
	}
	for _, st := range held.streams {
		st.cancel()
		_ = st.src.Close()
	}
}

// stream is an open stream: its producer sends chunks to the caller while it holds credit, and stops at the
// end, on {hornbeam_stream_close, Ref}, or when the caller goes.
type stream struct {
	ref    etf.Ref
	h      *holder
	src    hooks.Stream
	ctx    context.Context
	cancel context.CancelFunc
	credit *Credit
}

// openStream serves stream: it opens the call for cl and returns the reply {ok, StreamRef} and the func that
// starts the producer once the reply is sent.
func (s *Server) openStream(_ context.Context, cl Caller, r Request) (etf.Term, func()) {
	ctx, cancel := context.WithCancel(cl.T.Context())
	src, err := s.eng.Stream(ctx, r.Call)
	if err != nil {
		cancel()
		return hooks.Reply(nil, err), nil
	}
	st := &stream{ref: s.opts.MakeRef(), src: src, ctx: ctx, cancel: cancel, credit: NewCredit(r.Window)}
	s.mu.Lock()
	h, isNew := s.holderLocked(cl)
	st.h = h
	h.streams[st.ref] = st
	s.streams[st.ref] = st
	s.mu.Unlock()
	if isNew {
		cl.T.Watch(cl.Pid, h.mon)
	}
	return etf.Tuple{AtomOK, st.ref}, func() { s.Go(func() { s.produce(st) }) }
}

// produce sends st's chunks to its caller as {hornbeam_stream, StreamRef, Msg}, then ends st.
func (s *Server) produce(st *stream) {
	defer s.endStream(st)
	Produce(st.ctx, st.src, st.credit, func(msg etf.Term) bool {
		return st.h.cl.T.Send(st.h.cl.Pid, etf.Tuple{AtomHornbeamStream, st.ref, msg}) == nil
	}, s.Go)
}

// grant adds n credits to the stream ref.
func (s *Server) grant(ref etf.Ref, n int) {
	s.mu.Lock()
	st := s.streams[ref]
	s.mu.Unlock()
	if st != nil {
		st.credit.Grant(n)
	}
}

// closeStream stops the stream ref early; its producer sends nothing more.
func (s *Server) closeStream(ref etf.Ref) {
	s.mu.Lock()
	st := s.streams[ref]
	s.mu.Unlock()
	if st != nil {
		st.cancel()
		_ = st.src.Close()
	}
}

// endStream closes st and forgets it; a holder left with nothing is no longer monitored.
func (s *Server) endStream(st *stream) {
	st.cancel()
	_ = st.src.Close()
	s.mu.Lock()
	delete(s.streams, st.ref)
	delete(st.h.streams, st.ref)
	dropped := s.releaseIfEmptyLocked(st.h)
	s.mu.Unlock()
	if dropped {
		st.h.cl.T.Demonitor(st.h.cl.Pid, st.h.mon)
	}
}

// Held returns how many callers hold tasks or streams, and how many tasks and open streams they hold.
func (s *Server) Held() (callers, tasks, streams int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.holders), len(s.tasks), len(s.streams)
}
