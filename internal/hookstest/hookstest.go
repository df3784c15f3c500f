// Package hookstest gives the transports' tests one engine to serve: a hook "echo" whose actions cover a
// call, a stream and a slow call.
package hookstest

import (
	"context"
	"iter"
	"testing"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
)

// Engine returns an engine, closed at t's cleanup, with the hook "echo": echo returns {ok, Arg}, count streams
// 0..N-1, sleep sleeps Arg ms and returns {ok, Arg}.
func Engine(t testing.TB) *hooks.Engine {
	t.Helper()
	e := hooks.New(hooks.Options{})
	t.Cleanup(func() { _ = e.Close() })
	err := e.Register("echo", hooks.Func(func(_ context.Context, action string, args []etf.Term, _ etf.Map) (any, error) {
		switch action {
		case "echo":
			return etf.Tuple{etf.Atom("ok"), args[0]}, nil
		case "count":
			n, _ := etf.Int(args[0])
			return iter.Seq[any](func(yield func(any) bool) {
				for i := range n {
					if !yield(int64(i)) {
						return
					}
				}
			}), nil
		case "sleep":
			ms, _ := etf.Int(args[0])
			time.Sleep(time.Duration(ms) * time.Millisecond)
			return etf.Tuple{etf.Atom("ok"), args[0]}, nil
		}
		return nil, hooks.UnknownAction(action)
	}))
	if err != nil {
		t.Fatal(err)
	}
	return e
}
