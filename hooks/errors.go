package hooks

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hornbeam-go/hornbeam/etf"
)

// The error kinds the engine produces; docs/errors.md lists each with its detail.
const (
	// KindNotFound is {not_found, AppPath}: no hook is registered under AppPath (a binary).
	KindNotFound etf.Atom = "not_found"
	// KindUnknownAction is {unknown_action, Action}: the handler has no such action (a binary).
	KindUnknownAction etf.Atom = "unknown_action"
	// KindBadArg is {badarg, Detail}: the arguments do not fit the action; Detail is a binary.
	KindBadArg etf.Atom = "badarg"
	// KindOverloaded is the bare atom overloaded: the hook's in-flight limit and queue are full.
	KindOverloaded etf.Atom = "overloaded"
	// KindTimeout is the bare atom timeout: the deadline passed before a result arrived.
	KindTimeout etf.Atom = "timeout"
	// KindCancelled is the bare atom cancelled: the call, task or stream was cancelled.
	KindCancelled etf.Atom = "cancelled"
	// KindTaskNotFound is {task_not_found, Id}: no async task has this id (a binary).
	KindTaskNotFound etf.Atom = "task_not_found"
	// KindGo is {go, Message}: a Go handler returned a plain Go error; Message is a binary.
	KindGo etf.Atom = "go"
	// KindPanic is {panic, Message}: a handler or interceptor panicked; Message is a binary.
	KindPanic etf.Atom = "panic"
	// KindClosed is the bare atom closed: the engine is closed.
	KindClosed etf.Atom = "closed"
)

// Sentinels for errors.Is; an *Error matches one when their Kinds are equal.
var (
	// ErrNotFound matches not_found errors.
	ErrNotFound = &Error{Kind: KindNotFound}
	// ErrUnknownAction matches unknown_action errors.
	ErrUnknownAction = &Error{Kind: KindUnknownAction}
	// ErrBadArg matches badarg errors.
	ErrBadArg = &Error{Kind: KindBadArg}
	// ErrOverloaded matches overloaded errors.
	ErrOverloaded = &Error{Kind: KindOverloaded}
	// ErrTimeout matches timeout errors.
	ErrTimeout = &Error{Kind: KindTimeout}
	// ErrCancelled matches cancelled errors.
	ErrCancelled = &Error{Kind: KindCancelled}
	// ErrTaskNotFound matches task_not_found errors.
	ErrTaskNotFound = &Error{Kind: KindTaskNotFound}
	// ErrGo matches go errors (plain Go errors returned by handlers).
	ErrGo = &Error{Kind: KindGo}
	// ErrPanic matches panic errors.
	ErrPanic = &Error{Kind: KindPanic}
	// ErrClosed matches closed errors.
	ErrClosed = &Error{Kind: KindClosed}
)

// Error is why a call failed. It maps one-to-one onto the reason R of the
// Erlang reply {error, R}: Reason returns the bare atom Kind when Detail is nil
// and {Kind, Detail} otherwise. FromReason is its inverse; a reason of another
// shape (a binary, a longer tuple such as {erlang, Class, Reason, Stacktrace})
// is carried whole in Detail, with Kind its leading atom if it has one, and
// Reason returns it unchanged. Errors the engine returns are never changed
// after they are returned.
type Error struct {
	// Kind is the reason's atom (for a tuple, its first element); "" if it has none.
	Kind etf.Atom
	// Detail is the second element of {Kind, Detail}, nil for a bare atom, or the whole reason (see Error).
	Detail etf.Term

	whole bool  // Detail is the whole reason
	cause error // the Go error this one was made from
}

// NotFound returns the error for an app path with no hook: {not_found, AppPath}.
func NotFound(appPath string) *Error {
	return &Error{Kind: KindNotFound, Detail: []byte(appPath)}
}

// UnknownAction returns the error for an action the handler lacks: {unknown_action, Action}.
func UnknownAction(action string) *Error {
	return &Error{Kind: KindUnknownAction, Detail: []byte(action)}
}

// BadArg returns the error for arguments that do not fit: {badarg, Detail}.
func BadArg(detail string) *Error {
	return &Error{Kind: KindBadArg, Detail: []byte(detail)}
}

// TaskNotFound returns the error for an unknown async task id: {task_not_found, Id}.
func TaskNotFound(id TaskID) *Error {
	return &Error{Kind: KindTaskNotFound, Detail: []byte(id)}
}

// FromReason returns the *Error for the reason R of {error, R}; its Reason is R.
func FromReason(r etf.Term) *Error {
	switch t := r.(type) {
	case etf.Atom:
		if t != "" {
			return &Error{Kind: t}
		}
	case etf.Tuple:
		k := headAtom(t)
		if k != "" && len(t) == 2 && t[1] != nil {
			return &Error{Kind: k, Detail: t[1]}
		}
		return &Error{Kind: k, Detail: r, whole: true}
	}
	return &Error{Detail: r, whole: true}
}

// headAtom returns the first element of t if it is an atom, else "".
func headAtom(t etf.Tuple) etf.Atom {
	if len(t) == 0 {
		return ""
	}
	a, _ := t[0].(etf.Atom)
	return a
}

// ErrorOf converts any error to an *Error: an *Error in err's chain is
// returned as is; context.DeadlineExceeded becomes timeout and context.Canceled
// cancelled; any other error becomes {go, Message}. ErrorOf(nil) is nil, as is
// ErrorOf of a nil *Error.
func ErrorOf(err error) *Error {
	if err == nil {
		return nil
	}
	if e, ok := err.(*Error); ok {
		return e
	}
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Kind: KindTimeout, cause: err}
	case errors.Is(err, context.Canceled):
		return &Error{Kind: KindCancelled, cause: err}
	}
	return &Error{Kind: KindGo, Detail: []byte(err.Error()), cause: err}
}

// ReasonOf returns the Erlang reason term R for err, as {error, R} carries it; nil for a nil err.
func ReasonOf(err error) etf.Term {
	e := ErrorOf(err)
	if e == nil {
		return nil
	}
	return e.Reason()
}

// Reply returns the reply term for a call's outcome: {ok, V} when err is nil, else {error, ReasonOf(err)}.
func Reply(v etf.Term, err error) etf.Tuple {
	if err != nil {
		return etf.Tuple{etf.Atom("error"), ReasonOf(err)}
	}
	return etf.Tuple{etf.Atom("ok"), v}
}

// ResultOf applies the result rule to a handler's value v: {ok, V} is success
// V, {error, R} is the failure FromReason(R), and anything else is success v.
func ResultOf(v etf.Term) (etf.Term, error) {
	t, ok := v.(etf.Tuple)
	if !ok || len(t) != 2 {
		return v, nil
	}
	switch t[0] {
	case etf.Atom("ok"):
		return t[1], nil
	case etf.Atom("error"):
		return nil, FromReason(t[1])
	}
	return v, nil
}

// Reason returns the Erlang reason term: Kind, {Kind, Detail}, or the whole reason (see Error).
func (e *Error) Reason() etf.Term {
	switch {
	case e.whole:
		return e.Detail
	case e.Detail == nil:
		return e.Kind
	}
	return etf.Tuple{e.Kind, e.Detail}
}

// Error formats the reason, as in `hooks: not_found: "calc"` or `hooks: timeout`.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("hooks: ")
	switch {
	case e.whole:
		if e.Kind != "" {
			b.WriteString(string(e.Kind))
			b.WriteString(": ")
		}
		writeTerm(&b, e.Detail)
	case e.Detail == nil:
		b.WriteString(string(e.Kind))
	default:
		b.WriteString(string(e.Kind))
		b.WriteString(": ")
		writeTerm(&b, e.Detail)
	}
	return b.String()
}

// Is reports whether target is an *Error with the same non-empty Kind, so errors.Is(err, ErrTimeout) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind != "" && t.Kind == e.Kind
}

// Unwrap returns the Go error this one was made from by ErrorOf, if any.
func (e *Error) Unwrap() error {
	return e.cause
}

// panicError is the error for a recovered panic value r: {panic, Message}.
func panicError(r any) *Error {
	if err, ok := r.(error); ok {
		return &Error{Kind: KindPanic, Detail: []byte(err.Error()), cause: err}
	}
	return &Error{Kind: KindPanic, Detail: []byte(fmt.Sprint(r))}
}

// ctxError is the error for a done context: its cause when that is an
// *Error, else timeout or cancelled.
func ctxError(ctx context.Context) *Error {
	var e *Error
	if errors.As(context.Cause(ctx), &e) {
		return e
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ErrTimeout
	}
	return ErrCancelled
}

// writeTerm writes t in an Erlang-like notation for error messages and logs.
func writeTerm(b *strings.Builder, t etf.Term) {
	switch t := t.(type) {
	case []byte:
		if utf8.Valid(t) {
			b.WriteString(strconv.Quote(string(t)))
		} else {
			fmt.Fprintf(b, "<<%v>>", t)
		}
	case string:
		b.WriteString(strconv.Quote(t))
	case etf.Atom:
		b.WriteString(string(t))
	case etf.Tuple:
		writeSeq(b, "{", t, "}")
	case etf.List:
		writeSeq(b, "[", t, "]")
	case etf.Map:
		b.WriteString("#{")
		for i, p := range t {
			if i > 0 {
				b.WriteString(", ")
			}
			writeTerm(b, p.Key)
			b.WriteString(" => ")
			writeTerm(b, p.Value)
		}
		b.WriteString("}")
	default:
		fmt.Fprint(b, t)
	}
}

func writeSeq[T any](b *strings.Builder, open string, ts []T, closing string) {
	b.WriteString(open)
	for i, t := range ts {
		if i > 0 {
			b.WriteString(", ")
		}
		writeTerm(b, t)
	}
	b.WriteString(closing)
}

// formatTerm returns t in the notation of writeTerm.
func formatTerm(t etf.Term) string {
	var b strings.Builder
	writeTerm(&b, t)
	return b.String()
}
