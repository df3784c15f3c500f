package hooks

import (
	"context"
	"slices"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
)

// CallStartFunc runs before the handler of a call. To continue, return halt
// false and a nil error: changes made through call (app path, action,
// arguments) are kept, and later interceptors and the handler see them; assign
// new slices rather than writing into the caller's. To halt, return halt true:
// value becomes the call's result by the result rule ({error, R} fails it), and
// the later interceptors and the handler are skipped. To fail, return an error:
// the call fails with ErrorOf(err) and the later interceptors and the handler
// are skipped. After a halt or failure, only the interceptors before this one
// see the outcome.
type CallStartFunc func(ctx context.Context, call *Call) (value etf.Term, halt bool, err error)

// CallEndFunc runs after a call succeeded, with its result. To continue,
// return the result, changed or not; it follows the result rule, so {error, R}
// fails the call. To fail, return an error. Interceptors outside this one then
// see the new outcome: OnCallEnd on success, OnCallError on failure.
type CallEndFunc func(ctx context.Context, call *Call, result etf.Term) (etf.Term, error)

// CallErrorFunc observes a failed call; it cannot change the outcome.
type CallErrorFunc func(ctx context.Context, call *Call, err *Error)

// StreamStartFunc runs before a stream opens. To continue, return nil:
// changes made through call are kept, as for CallStartFunc. To fail, return an
// error: the stream does not open, and only the interceptors before this one
// see the end.
type StreamStartFunc func(ctx context.Context, call *Call) error

// StreamChunkFunc sees each chunk, after the result rule. To continue, return
// the chunk, changed or not. To fail, return an error: the stream ends with it.
type StreamChunkFunc func(ctx context.Context, call *Call, chunk etf.Term) (etf.Term, error)

// StreamEndFunc observes the end of a stream: err is nil when the stream ran
// to its end, a cancelled *Error when the consumer closed it early, and the
// failure (an *Error) otherwise, also when the stream failed to open.
type StreamEndFunc func(ctx context.Context, call *Call, err error)

// Interceptor is a set of optional lifecycle callbacks, after Puck.Hooks; a
// nil callback passes the call through. Interceptors nest, first outermost:
// node-level ones (Engine.Use) in order, then per-call ones (passed to
// Execute, ExecuteAsync or Stream) in order. Start callbacks run from the
// outermost in; end, error, chunk and stream-end callbacks run from the
// innermost out, each seeing the outcome left by those inside it, and only for
// interceptors whose start callback was reached and continued (a missing
// start callback continues). A panic in a callback is the failure {panic,
// Message}, except in OnStreamEnd, where the stream has already ended and the
// panic is dropped.
type Interceptor struct {
	// OnCallStart runs before the handler; it may change the call, halt with a result, or fail.
	OnCallStart CallStartFunc
	// OnCallEnd runs after success; it may change the result or fail.
	OnCallEnd CallEndFunc
	// OnCallError observes a failure.
	OnCallError CallErrorFunc
	// OnStreamStart runs before a stream opens; it may change the call or fail.
	OnStreamStart StreamStartFunc
	// OnStreamChunk may change each chunk or end the stream with an error.
	OnStreamChunk StreamChunkFunc
	// OnStreamEnd observes the end of a stream, also an early close.
	OnStreamEnd StreamEndFunc
}

func (ic *Interceptor) hasCall() bool {
	return ic.OnCallStart != nil || ic.OnCallEnd != nil || ic.OnCallError != nil
}

func (ic *Interceptor) hasStream() bool {
	return ic.OnStreamStart != nil || ic.OnStreamChunk != nil || ic.OnStreamEnd != nil
}

// chain is the node-level interceptors, built once when they change.
type chain struct {
	ics    []Interceptor
	call   bool // some interceptor has a call callback
	stream bool // some interceptor has a stream callback
}

// Use appends node-level interceptors, which run for every call and stream
// before the per-call ones. The chain is rebuilt here, not on each call.
func (e *Engine) Use(interceptors ...Interceptor) {
	e.chainMu.Lock()
	defer e.chainMu.Unlock()
	c := &chain{ics: slices.Concat(e.chain.Load().ics, interceptors)}
	for i := range c.ics {
		c.call = c.call || c.ics[i].hasCall()
		c.stream = c.stream || c.ics[i].hasStream()
	}
	e.chain.Store(c)
}

func anyCall(ics []Interceptor) bool {
	for i := range ics {
		if ics[i].hasCall() {
			return true
		}
	}
	return false
}

// icList is the node-level chain followed by the per-call interceptors.
type icList struct {
	node  *chain
	extra []Interceptor
}

func (l icList) len() int {
	return len(l.node.ics) + len(l.extra)
}

func (l icList) at(i int) *Interceptor {
	if i < len(l.node.ics) {
		return &l.node.ics[i]
	}
	return &l.extra[i-len(l.node.ics)]
}

// intercept runs call through the interceptors around invoke.
func (e *Engine) intercept(ctx context.Context, call *Call, ics icList, inline bool) (etf.Term, error) {
	call.started = time.Now()
	var v etf.Term
	var err *Error
	n, started := ics.len(), 0
	halted := false
	for ; started < n; started++ {
		if f := ics.at(started).OnCallStart; f != nil {
			var hv etf.Term
			err = guard(func() error {
				var ferr error
				hv, halted, ferr = f(ctx, call)
				return ferr
			})
			if err == nil && halted {
				v, err = result(hv)
			}
			if err != nil || halted {
				break
			}
		}
	}
	if err == nil && !halted {
		var ierr error
		v, ierr = e.invoke(ctx, *call, inline)
		err = ErrorOf(ierr)
	}
	for i := started - 1; i >= 0; i-- {
		ic := ics.at(i)
		if err == nil && ic.OnCallEnd != nil {
			f, in := ic.OnCallEnd, v
			var out etf.Term
			err = guard(func() error {
				var ferr error
				out, ferr = f(ctx, call, in)
				return ferr
			})
			if err == nil {
				v, err = result(out)
			}
		} else if err != nil && ic.OnCallError != nil {
			f, cerr := ic.OnCallError, err
			if perr := guard(func() error { f(ctx, call, cerr); return nil }); perr != nil {
				err = perr
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

// result applies the result rule with a typed error.
func result(t etf.Term) (etf.Term, *Error) {
	v, err := ResultOf(t)
	return v, ErrorOf(err)
}

// guard runs f, turning its error into an *Error and a panic into {panic, Message}.
func guard(f func() error) (err *Error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicError(r)
		}
	}()
	return ErrorOf(f())
}
