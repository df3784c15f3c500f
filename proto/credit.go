package proto

import (
	"context"
	"io"
	"sync/atomic"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
)

// Stream credit, the one mechanism every stream on the Go side uses: a producer takes a chunk from its source
// only while it holds credit (Credit), and a consumer grants credit back half a window at a time as it
// consumes (Refill). The producer starts with a window of credit, so at most a window of chunks is ever in
// flight.

// Credit is a producer's credit: how many more chunks it may take. Grant may be called from any goroutine;
// Wait and Use from the producer's.
type Credit struct {
	n    atomic.Int64
	wake chan struct{} // credit arrived
}

// NewCredit returns a Credit holding window credits.
func NewCredit(window int) *Credit {
	c := &Credit{wake: make(chan struct{}, 1)}
	c.n.Store(int64(window))
	return c
}

// Grant adds n credits and wakes a waiting producer.
func (c *Credit) Grant(n int) {
	c.n.Add(int64(n))
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Wait blocks until there is credit; false when ctx ended first.
func (c *Credit) Wait(ctx context.Context) bool {
	for c.n.Load() <= 0 {
		select {
		case <-c.wake:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// Use spends one credit, for a chunk taken.
func (c *Credit) Use() { c.n.Add(-1) }

// Refill is a consumer's count of the chunks it took since it last granted credit: every half window (at
// least one chunk) it grants that much back. The zero Refill is not usable; set Window.
type Refill struct {
	// Window is the producer's window.
	Window   int
	consumed int
}

// Took counts one chunk consumed and returns the credit to grant now, 0 for none; a stream that has ended
// grants nothing.
func (r *Refill) Took(ended bool) int {
	r.consumed++
	if grant := max(r.Window/2, 1); r.consumed >= grant && !ended {
		r.consumed = 0
		return grant
	}
	return 0
}

// maxBatch bounds the chunks sent in one {chunks, [Chunk]} message.
const maxBatch = 256

// streamItem is one result of a stream's Next.
type streamItem struct {
	v   etf.Term
	err error
}

// Produce sends src's chunks through emit while credit lasts, then done or {error, Reason}; each message is
// one of the stream messages {chunk, C}, {chunks, [C]}, done and {error, Reason}, which the transport wraps in
// its envelope. A puller goroutine, started with spawn, takes chunks while there is credit; Produce sends
// what has piled up meanwhile as one {chunks, [C]} message, so a fast producer costs one message per batch,
// not per chunk. It returns at the end, when emit fails (returns false) or when ctx ends; it sends nothing
// once ctx has ended. The caller closes src.
func Produce(ctx context.Context, src hooks.Stream, credit *Credit, emit func(msg etf.Term) bool, spawn func(func())) {
	items := make(chan streamItem, maxBatch)
	spawn(func() { pull(ctx, src, credit, items) })
	send := func(msg etf.Term) bool { return ctx.Err() == nil && emit(msg) }
	batch := make(etf.List, 0, maxBatch)
	for {
		var it streamItem
		select {
		case it = <-items:
		case <-ctx.Done():
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
		if len(batch) > 0 && !send(chunksMsg(batch)) {
			return
		}
		if it.err != nil {
			msg := etf.Term(AtomDone)
			if it.err != io.EOF {
				msg = etf.Tuple{AtomError, hooks.ReasonOf(it.err)}
			}
			send(msg)
			return
		}
	}
}

// chunksMsg is {chunk, C} for one chunk and {chunks, [C...]} for several; it copies batch.
func chunksMsg(batch etf.List) etf.Term {
	if len(batch) == 1 {
		return etf.Tuple{AtomChunk, batch[0]}
	}
	return etf.Tuple{AtomChunks, append(etf.List(nil), batch...)}
}

// AppendStreamMsg reads a stream message as a consumer gets it and appends its chunks to dst: {chunk, C} and
// {chunks, [C]} give their chunks, done gives end io.EOF, and {error, Reason} gives end the *hooks.Error of
// Reason. ok is false for anything else, and dst is then returned as it was.
func AppendStreamMsg(dst []etf.Term, msg etf.Term) (chunks []etf.Term, end error, ok bool) {
	if msg == AtomDone {
		return dst, io.EOF, true
	}
	t, isTuple := msg.(etf.Tuple)
	if !isTuple || len(t) != 2 {
		return dst, nil, false
	}
	switch t[0] {
	case AtomChunk:
		return append(dst, t[1]), nil, true
	case AtomChunks:
		if l, ok := etf.Elems(t[1]); ok {
			return append(dst, l...), nil, true
		}
	case AtomError:
		return dst, hooks.FromReason(t[1]), true
	}
	return dst, nil, false
}

// pull takes src's chunks, one per credit, into items until the end, a failure, or ctx's end.
func pull(ctx context.Context, src hooks.Stream, credit *Credit, items chan<- streamItem) {
	for {
		if !credit.Wait(ctx) {
			return
		}
		v, err := src.Next(ctx)
		if ctx.Err() != nil {
			return
		}
		credit.Use()
		select {
		case items <- streamItem{v, err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}
