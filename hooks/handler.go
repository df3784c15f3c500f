package hooks

import (
	"context"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
)

// Call is one request to a hook: run Action on the handler registered under
// AppPath with positional Args and keyword Kwargs.
type Call struct {
	// AppPath names the hook.
	AppPath string
	// Action names what to run; actions starting with "_" are never run.
	Action string
	// Args are the positional arguments.
	Args []etf.Term
	// Kwargs are the keyword arguments; nil is the same as empty.
	Kwargs etf.Map
	// Window is, for a stream, how many chunks the producer may run ahead of
	// the consumer; Engine.Stream sets 0 to Options.Window before the handler
	// sees it.
	Window int

	started time.Time
}

// Started returns when the engine began this call or stream (before the
// interceptors ran); it is the zero time for a Call the engine has not seen.
func (c *Call) Started() time.Time {
	return c.started
}

// Handler is what a hook runs. Func and Struct adapt Go functions and values;
// the node and python packages implement it for handlers that live in an
// Erlang process or a Python worker. The engine recovers a panic in either
// method, applies the result rule (see ResultOf) to the value of Execute and to
// every chunk of a Stream, and converts any error with ErrorOf.
type Handler interface {
	// Execute runs call.Action and returns its value. It should return when
	// ctx is done; the engine answers the caller at the deadline regardless.
	Execute(ctx context.Context, call Call) (etf.Term, error)
	// Stream starts call.Action as a stream. ctx lives as long as the stream:
	// the engine cancels it when the consumer closes the stream early.
	Stream(ctx context.Context, call Call) (Stream, error)
}

// Deferrer is implemented by handlers that can start a call and answer it later from a goroutine of their
// own, so that the caller's goroutine need not wait (Engine.ExecuteDeferred). ExecuteDeferred returns ok false,
// without calling done, when it cannot take the call; otherwise it calls done once, perhaps before it
// returns. abandon says the caller gave up on the call (its deadline passed): the handler should stop it, and
// may still call done, which is then ignored.
type Deferrer interface {
	// ExecuteDeferred starts call.Action and reports its value or error to done.
	ExecuteDeferred(call Call, done func(etf.Term, error)) (abandon func(), ok bool)
}

// Stream is a pull-based sequence of chunks. Next must not be called
// concurrently with itself; Close may be called at any time, from any
// goroutine, any number of times.
type Stream interface {
	// Next blocks until the next chunk, the end (io.EOF), a failure, or ctx
	// done; the engine's streams also return when the stream is closed.
	Next(ctx context.Context) (etf.Term, error)
	// Close ends the stream and releases what it holds, cancelling the producer if it is still running.
	Close() error
}

// Describer is implemented by handlers that report what kind they are and who
// owns them; Find and All show it. Handlers without it are of kind "go" with no owner.
type Describer interface {
	// Describe returns the handler's kind ("go", "erlang", "python", ...) and owner (a pid, a worker id, or nil).
	Describe() (kind string, owner etf.Term)
}

// Info describes one registered hook.
type Info struct {
	// AppPath is the name the hook is registered under.
	AppPath string
	// Kind says where the handler lives: "go", "erlang", "python", ...
	Kind string
	// Owner identifies who registered the handler (a pid, a worker id), or nil.
	Owner etf.Term
}

// KindGoHandler is the Kind of Func and Struct handlers and of handlers that do not implement Describer.
const KindGoHandler = "go"

// Func is a Go function handler: it receives every action of its hook and
// returns a value, a stream, or an error. The value is converted with
// etf.ToTerm and then follows the result rule: {ok, V} is success V, {error, R}
// failure R. A stream is an iter.Seq[any], an iter.Seq2[any, error] (a non-nil
// error ends the stream with it) or a Stream; called with Execute a stream is
// collected into a list, and called with Stream a plain value is one chunk.
// Return UnknownAction(action) for actions it does not know.
type Func func(ctx context.Context, action string, args []etf.Term, kwargs etf.Map) (any, error)

// Execute calls f and converts its result to a term.
func (f Func) Execute(ctx context.Context, call Call) (etf.Term, error) {
	return executeGo(ctx, f, call)
}

// Stream calls f and returns its result as a stream, running an iterator
// ahead of the consumer by at most call.Window chunks (DefaultWindow if 0).
func (f Func) Stream(ctx context.Context, call Call) (Stream, error) {
	return streamGo(ctx, f, call, goStart)
}

func (f Func) call(ctx context.Context, call Call) (any, error) {
	return f(ctx, call.Action, call.Args, call.Kwargs)
}

// goHandler is a handler written in Go whose raw result the engine converts
// itself, so that Go streams use the engine's window and goroutine tracking.
type goHandler interface {
	call(ctx context.Context, call Call) (any, error)
}
