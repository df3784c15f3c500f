// Package hooks is the hook registry and execution engine: a hook is a
// Handler registered under an app path, and callers run actions on it with
// Engine.Execute, Engine.ExecuteAsync and Engine.AwaitResult, or
// Engine.Stream, wherever the handler lives. Handlers written in Go are a Func
// or a Struct; the node and python packages implement Handler for handlers in
// Erlang processes and Python workers. This package does no I/O.
//
// # Result rule
//
// One rule holds for every handler kind and every caller. A handler value
// {ok, V} is success V, {error, R} is failure R, and any other value is
// success. A Go error becomes an *Error: an *Error keeps its own reason, a
// context error becomes timeout or cancelled, any other error is
// {go, Message}; a panic is {panic, Message} and kills nothing. Every error
// the engine returns is an *Error, whose Reason is the R of {error, R}; Reply
// makes the reply term. docs/errors.md lists the kinds.
//
// # Interceptors
//
// Interceptors (after Puck.Hooks) observe and change calls and streams at
// each stage: see Interceptor for the order and CallStartFunc and its
// siblings for what continue, halt and error mean. Logging is one.
//
// # Limits and counters
//
// Each hook may bound the calls running on it at once (WithLimit); Stats
// reports its calls, errors, in-flight count and a latency histogram.
package hooks
