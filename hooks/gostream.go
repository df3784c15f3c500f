package hooks

import (
	"context"
	"io"
	"iter"
	"math/big"
	"reflect"
	"sync"

	"github.com/hornbeam-go/hornbeam/etf"
)

// DefaultWindow is the stream credit window of the zero Options and of a Call
// with no Window: how many chunks a producer may run ahead of its consumer.
const DefaultWindow = 256

// startFunc starts f on a new goroutine, reporting false if it may not.
type startFunc func(f func()) bool

func goStart(f func()) bool {
	go f()
	return true
}

// executeGo runs a Go handler and converts its raw result for Execute.
func executeGo(ctx context.Context, h goHandler, call Call) (etf.Term, error) {
	raw, err := h.call(ctx, call)
	if err != nil {
		return nil, err
	}
	if s, ok := raw.(Stream); ok {
		return drain(ctx, s)
	}
	if seq, ok := asSeq(raw); ok {
		return drainSeq(seq)
	}
	return toTerm(raw)
}

// streamGo runs a Go handler and returns its raw result as a Stream.
func streamGo(ctx context.Context, h goHandler, call Call, start startFunc) (Stream, error) {
	raw, err := h.call(ctx, call)
	if err != nil {
		return nil, err
	}
	if s, ok := raw.(Stream); ok {
		return s, nil
	}
	if seq, ok := asSeq(raw); ok {
		return newSeqStream(ctx, seq, windowOf(call), start)
	}
	v, err := toTerm(raw)
	if err != nil {
		return nil, err
	}
	return &valueStream{v: v}, nil
}

// windowOf is call.Window, or DefaultWindow when that is not positive.
func windowOf(call Call) int {
	if call.Window > 0 {
		return call.Window
	}
	return DefaultWindow
}

// toTerm converts a Go value to a term, passing scalar terms through untouched.
func toTerm(v any) (etf.Term, error) {
	switch v.(type) {
	case bool, int64, float64, string, []byte, etf.Atom, *big.Int, etf.Pid, etf.Ref:
		return v, nil
	}
	return etf.ToTerm(v)
}

// drain collects a stream into a list, applying the result rule to each chunk.
func drain(ctx context.Context, s Stream) (etf.Term, error) {
	defer s.Close()
	var l etf.List
	for {
		v, err := s.Next(ctx)
		if err == io.EOF {
			return l, nil
		}
		if err == nil {
			v, err = ResultOf(v)
		}
		if err != nil {
			return nil, err
		}
		l = append(l, v)
	}
}

// drainSeq collects an iterator into a list, applying the result rule to each chunk.
func drainSeq(seq iter.Seq2[any, error]) (etf.Term, error) {
	var l etf.List
	for v, err := range seq {
		var t etf.Term
		if err == nil {
			t, err = toTerm(v)
		}
		if err == nil {
			t, err = ResultOf(t)
		}
		if err != nil {
			return nil, err
		}
		l = append(l, t)
	}
	return l, nil
}

var errorType = reflect.TypeFor[error]()

// asSeq reports whether v is an iterator, func(yield func(V) bool) or
// func(yield func(V, error) bool) for any V, and returns it as an iter.Seq2.
// A nil iterator is an empty one.
func asSeq(v any) (iter.Seq2[any, error], bool) {
	switch s := v.(type) {
	case iter.Seq[any]:
		return seq1(s), true
	case func(func(any) bool):
		return seq1(s), true
	case iter.Seq2[any, error]:
		return orEmpty(s), true
	case func(func(any, error) bool):
		return orEmpty(s), true
	}
	if v == nil {
		return nil, false
	}
	rv := reflect.ValueOf(v)
	t := rv.Type()
	if t.Kind() != reflect.Func || t.NumIn() != 1 || t.NumOut() != 0 {
		return nil, false
	}
	y := t.In(0)
	if y.Kind() != reflect.Func || y.NumOut() != 1 || y.Out(0).Kind() != reflect.Bool ||
		(y.NumIn() != 1 && (y.NumIn() != 2 || y.In(1) != errorType)) {
		return nil, false
	}
	if rv.IsNil() {
		return func(func(any, error) bool) {}, true
	}
	return func(yield func(any, error) bool) {
		fn := reflect.MakeFunc(y, func(in []reflect.Value) []reflect.Value {
			var err error
			if len(in) == 2 && !in[1].IsNil() {
				err = in[1].Interface().(error)
			}
			return []reflect.Value{reflect.ValueOf(yield(in[0].Interface(), err))}
		})
		rv.Call([]reflect.Value{fn})
	}, true
}

func seq1(s func(func(any) bool)) iter.Seq2[any, error] {
	if s == nil {
		return func(func(any, error) bool) {}
	}
	return func(yield func(any, error) bool) {
		s(func(v any) bool { return yield(v, nil) })
	}
}

func orEmpty(s func(func(any, error) bool)) iter.Seq2[any, error] {
	if s == nil {
		return func(func(any, error) bool) {}
	}
	return s
}

// valueStream is a plain value as a stream: one chunk, then the end.
type valueStream struct {
	mu   sync.Mutex
	v    etf.Term
	done bool
}

// Next returns the value once, then io.EOF.
func (s *valueStream) Next(context.Context) (etf.Term, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return nil, io.EOF
	}
	s.done = true
	return s.v, nil
}

// Close makes later calls of Next return io.EOF.
func (s *valueStream) Close() error {
	s.mu.Lock()
	s.done = true
	s.mu.Unlock()
	return nil
}

// item is one chunk, or the error that ends a seqStream.
type item struct {
	v   etf.Term
	err error
}

// seqStream runs an iterator on its own goroutine, at most window chunks ahead
// of the consumer: the channel holds window-1 chunks and the producer blocks
// on sending one more.
type seqStream struct {
	ch     chan item
	cut    bool // the producer stopped because ctx was done; set before ch is closed
	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once
}

func newSeqStream(ctx context.Context, seq iter.Seq2[any, error], window int, start startFunc) (Stream, error) {
	ctx, cancel := context.WithCancel(ctx)
	s := &seqStream{ch: make(chan item, window-1), ctx: ctx, cancel: cancel}
	if !start(func() { s.produce(seq) }) {
		cancel()
		return nil, ErrClosed
	}
	return s, nil
}

// produce runs on the producer goroutine; it closes s.ch when it returns.
func (s *seqStream) produce(seq iter.Seq2[any, error]) {
	defer close(s.ch)
	defer func() {
		if r := recover(); r != nil {
			s.send(item{err: panicError(r)})
		}
	}()
	for v, err := range seq {
		var t etf.Term
		if err == nil {
			t, err = toTerm(v)
		}
		if !s.send(item{t, err}) || err != nil {
			return
		}
	}
}

func (s *seqStream) send(it item) bool {
	select {
	case s.ch <- it:
		return true
	case <-s.ctx.Done():
		s.cut = true
		return false
	}
}

// Next returns the next chunk; io.EOF once the iterator has returned.
func (s *seqStream) Next(ctx context.Context) (etf.Term, error) {
	select {
	case it, ok := <-s.ch:
		if !ok && s.cut {
			return nil, ctxError(s.ctx)
		}
		if !ok {
			return nil, io.EOF
		}
		return it.v, it.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.ctx.Done():
		return nil, ctxError(s.ctx)
	}
}

// Close cancels the producer's context and waits for its goroutine to return.
// An iterator returns at its next yield; one that ignores both yield's result
// and its context delays Close.
func (s *seqStream) Close() error {
	s.once.Do(func() {
		s.cancel()
		for range s.ch {
		}
	})
	return nil
}
