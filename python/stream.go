package python

import (
	"context"
	"fmt"
	"sync"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
	"github.com/hornbeam-go/hornbeam/proto"
)

// pyStream is a stream a Python process produces for the node: chunks arrive
// in frames and wait here for Next; the consumer grants credit back about
// half a window at a time.
type pyStream struct {
	l      *link
	id     int64
	window int64

	mu     sync.Mutex
	items  []etf.Term
	end    error // io.EOF or an *hooks.Error, once the stream ended
	stop   func() bool
	refill proto.Refill
	more   chan struct{}

	closeOnce sync.Once
}

// stream opens call as a stream on the process.
func (l *link) stream(ctx context.Context, call hooks.Call) (hooks.Stream, error) {
	window := int64(call.Window)
	if window <= 0 {
		window = hooks.DefaultWindow
	}
	s := &pyStream{l: l, window: window, refill: proto.Refill{Window: int(window)}, more: make(chan struct{}, 1)}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, l.err
	}
	s.id = l.ids.Add(1)
	l.streams[s.id] = s
	l.mu.Unlock()
	l.busy.Add(1)
	l.load.Idle.Store(false)
	handOffIfInline(ctx)
	encErr, err := l.sendRequest(proto.AtomStream, s.id, call, window)
	if encErr != nil {
		s.Close()
		return nil, hooks.BadArg(fmt.Sprintf("python: %v", encErr))
	}
	if err != nil {
		l.log.Debug("python: stream not sent; the end of the link will end it", "err", err)
	}
	stop := context.AfterFunc(ctx, func() { s.Close() })
	s.mu.Lock()
	s.stop = stop
	s.mu.Unlock()
	return s, nil
}

// onChunks feeds a stream the process produces; end is io.EOF or an error at its end.
func (l *link) onChunks(id int64, chunks []etf.Term, end error) {
	l.mu.Lock()
	s := l.streams[id]
	if end != nil {
		delete(l.streams, id)
	}
	l.mu.Unlock()
	if s != nil {
		s.feed(chunks, end)
	}
}

func (s *pyStream) feed(chunks []etf.Term, end error) {
	s.mu.Lock()
	s.items = append(s.items, chunks...)
	if end != nil && s.end == nil {
		s.end = end
	}
	s.mu.Unlock()
	select {
	case s.more <- struct{}{}:
	default:
	}
}

// Next returns the next chunk, io.EOF at the end, the stream's error, or ctx's error.
func (s *pyStream) Next(ctx context.Context) (etf.Term, error) {
	for {
		s.mu.Lock()
		if len(s.items) > 0 {
			chunk := s.items[0]
			s.items[0] = nil
			s.items = s.items[1:]
			grant := s.refill.Took(s.end != nil)
			s.mu.Unlock()
			if grant > 0 {
				s.l.send(etf.Tuple{atomCredit, s.id, int64(grant)})
			}
			return chunk, nil
		}
		end := s.end
		s.mu.Unlock()
		if end != nil {
			return nil, end
		}
		select {
		case <-s.more:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Close cancels the producer if the stream has not ended; it is idempotent.
func (s *pyStream) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		stop := s.stop
		s.mu.Unlock()
		if stop != nil {
			stop()
		}
		s.l.busy.Add(-1)
		s.l.mu.Lock()
		_, open := s.l.streams[s.id]
		if open {
			delete(s.l.streams, s.id)
		}
		s.l.mu.Unlock()
		if open {
			s.l.send(etf.Tuple{proto.AtomCancel, s.id})
		}
		s.feed(nil, hooks.ErrCancelled)
	})
	return nil
}

var _ hooks.Stream = (*pyStream)(nil)
