package hooks

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
)

// Stream opens call as a stream on its hook. The returned Stream applies the
// result rule to each chunk ({error, R} ends it with R) and runs the
// interceptors' chunk and end callbacks. A Go handler's iterator runs on an
// engine goroutine at most call.Window chunks (Options.Window if 0) ahead of
// the consumer; the handler sees that window in call.Window. The
// stream holds a slot of its hook until it ends or is closed; its context
// derives from ctx and is cancelled on Close, at the end, and by Engine.Close.
// Next returns io.EOF at the end and *Error values on failure; a failure and
// the end are final, but a Next whose own ctx is done returns timeout or
// cancelled and leaves the stream as it was. Always Close the stream.
func (e *Engine) Stream(ctx context.Context, call Call, interceptors ...Interceptor) (Stream, error) {
	if e.closed.Load() {
		return nil, ErrClosed
	}
	s := &engineStream{ics: icList{node: e.chain.Load(), extra: interceptors}, call: call}
	s.call.started = time.Now()
	if s.call.Window <= 0 {
		s.call.Window = e.opts.Window
	}
	var err *Error
	n := s.ics.len()
	for ; s.started < n; s.started++ {
		if f := s.ics.at(s.started).OnStreamStart; f != nil {
			if err = guard(func() error { return f(ctx, &s.call) }); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = e.open(ctx, s)
	}
	if err != nil {
		s.ctx = ctx
		s.ended(err)
		return nil, err
	}
	return s, nil
}

// open routes the stream to its hook and starts the handler's stream.
func (e *Engine) open(ctx context.Context, s *engineStream) *Error {
	en := (*e.reg.Load())[s.call.AppPath]
	if en == nil {
		return NotFound(s.call.AppPath)
	}
	if strings.HasPrefix(s.call.Action, "_") {
		return UnknownAction(s.call.Action)
	}
	en.stats.calls.Add(1)
	if ctx.Err() != nil {
		en.stats.errors.Add(1)
		return ctxError(ctx)
	}
	if err := en.acquire(ctx); err != nil {
		en.stats.errors.Add(1)
		return ErrorOf(err)
	}
	sctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(e.base, func() { cancel(ErrClosed) })
	var inner Stream
	err := guard(func() error {
		var herr error
		if g, ok := en.h.(goHandler); ok {
			inner, herr = streamGo(sctx, g, s.call, e.spawn)
		} else {
			inner, herr = en.h.Stream(sctx, s.call)
		}
		if herr == nil && inner == nil {
			herr = errNoStream
		}
		return herr
	})
	if err != nil {
		stop()
		cancel(err)
		en.release(-1)
		en.stats.errors.Add(1)
		return err
	}
	s.en, s.inner, s.ctx, s.cancel, s.stop, s.opened = en, inner, sctx, cancel, stop, time.Now()
	return nil
}

// errNoStream is the failure of a handler whose Stream returned neither a stream nor an error.
var errNoStream = errors.New("hooks: handler's Stream returned neither a stream nor an error")

// engineStream is the Stream the engine hands out, wrapping a handler's.
type engineStream struct {
	ics     icList
	started int // interceptors whose OnStreamStart continued
	call    Call

	en     *entry
	inner  Stream
	ctx    context.Context
	cancel context.CancelCauseFunc
	stop   func() bool
	opened time.Time

	mu  sync.Mutex
	end error // io.EOF or *Error once the stream has ended
}

// Next returns the next chunk, io.EOF at the end, or an *Error.
func (s *engineStream) Next(ctx context.Context) (etf.Term, error) {
	if err := s.final(); err != nil {
		return nil, err
	}
	var v etf.Term
	var ierr error
	err := guard(func() error {
		v, ierr = s.inner.Next(ctx)
		if ierr == io.EOF {
			return nil
		}
		return ierr
	})
	switch {
	case ierr == io.EOF && err == nil:
		s.finish(nil, false)
		return nil, s.final()
	case err != nil && ctx.Err() != nil && s.ctx.Err() == nil:
		return nil, ctxError(ctx)
	case err == nil:
		v, err = result(v)
	}
	for i := s.started - 1; i >= 0 && err == nil; i-- {
		if f := s.ics.at(i).OnStreamChunk; f != nil {
			in := v
			err = guard(func() error {
				var ferr error
				v, ferr = f(s.ctx, &s.call, in)
				return ferr
			})
		}
	}
	if err != nil {
		s.finish(err, false)
		return nil, s.final()
	}
	return v, nil
}

// Close ends the stream early, cancelling the producer and waiting for a Go
// producer's goroutine to return. It is idempotent and returns nil.
func (s *engineStream) Close() error {
	s.finish(ErrCancelled, true)
	return nil
}

// final returns io.EOF or the failure once the stream has ended, else nil.
func (s *engineStream) final() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.end
}

// finish ends the stream once: nil err is the normal end. An early close is
// not counted as an error.
func (s *engineStream) finish(err *Error, early bool) {
	s.mu.Lock()
	if s.end != nil {
		s.mu.Unlock()
		return
	}
	if err == nil {
		s.end = io.EOF
	} else {
		s.end = err
	}
	s.mu.Unlock()
	s.stop()
	s.cancel(ErrCancelled)
	s.inner.Close()
	s.en.release(time.Since(s.opened))
	if err != nil && !early {
		s.en.stats.errors.Add(1)
	}
	s.ended(err)
}

// ended runs the OnStreamEnd callbacks of the interceptors that started, innermost first.
func (s *engineStream) ended(err *Error) {
	var ferr error
	if err != nil {
		ferr = err
	}
	for i := s.started - 1; i >= 0; i-- {
		if f := s.ics.at(i).OnStreamEnd; f != nil {
			guard(func() error { f(s.ctx, &s.call, ferr); return nil })
		}
	}
}
