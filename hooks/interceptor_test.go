package hooks_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"
	"testing"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
)

// recorder builds interceptors that log their callbacks to one list.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	r.events = append(r.events, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	r.events = nil
	return ev
}

// observer returns an interceptor named name that records every callback and changes nothing.
func (r *recorder) observer(name string) hooks.Interceptor {
	return hooks.Interceptor{
		OnCallStart: func(_ context.Context, c *hooks.Call) (etf.Term, bool, error) {
			r.add("%s start %s", name, c.Action)
			return nil, false, nil
		},
		OnCallEnd: func(_ context.Context, _ *hooks.Call, v etf.Term) (etf.Term, error) {
			r.add("%s end %v", name, v)
			return v, nil
		},
		OnCallError: func(_ context.Context, _ *hooks.Call, err *hooks.Error) {
			r.add("%s error %v", name, err)
		},
		OnStreamStart: func(_ context.Context, c *hooks.Call) error {
			r.add("%s stream_start %s", name, c.Action)
			return nil
		},
		OnStreamChunk: func(_ context.Context, _ *hooks.Call, v etf.Term) (etf.Term, error) {
			r.add("%s chunk %v", name, v)
			return v, nil
		},
		OnStreamEnd: func(_ context.Context, _ *hooks.Call, err error) {
			r.add("%s stream_end %v", name, err)
		},
	}
}

func TestInterceptorCalls(t *testing.T) {
	var r recorder
	halt := func(v etf.Term) hooks.Interceptor {
		return hooks.Interceptor{OnCallStart: func(context.Context, *hooks.Call) (etf.Term, bool, error) { return v, true, nil }}
	}
	tests := []struct {
		name    string
		percall []hooks.Interceptor
		action  string
		want    etf.Term
		events  []string
	}{
		{"order", []hooks.Interceptor{r.observer("C")}, "int", tuple(etf.Atom("ok"), int64(42)),
			[]string{"A start int", "B start int", "C start int", "C end 42", "B end 42", "A end 42"}},
		{"handler error", nil, "go_error", tuple(etf.Atom("error"), tuple(etf.Atom("go"), []byte("disk full"))),
			[]string{"A start go_error", "B start go_error", "B error hooks: go: \"disk full\"", "A error hooks: go: \"disk full\""}},
		{"halt", []hooks.Interceptor{halt(etf.Atom("cached")), r.observer("C")}, "panic", tuple(etf.Atom("ok"), etf.Atom("cached")),
			[]string{"A start panic", "B start panic", "B end cached", "A end cached"}},
		{"halt with error", []hooks.Interceptor{halt(etf.Tuple{etf.Atom("error"), etf.Atom("denied")})}, "int", tuple(etf.Atom("error"), etf.Atom("denied")),
			[]string{"A start int", "B start int", "B error hooks: denied", "A error hooks: denied"}},
		{"start error", []hooks.Interceptor{{OnCallStart: func(context.Context, *hooks.Call) (etf.Term, bool, error) {
			return nil, false, hooks.BadArg("no")
		}}, r.observer("C")}, "int", tuple(etf.Atom("error"), tuple(etf.Atom("badarg"), []byte("no"))),
			[]string{"A start int", "B start int", "B error hooks: badarg: \"no\"", "A error hooks: badarg: \"no\""}},
		{"start panic", []hooks.Interceptor{{OnCallStart: func(context.Context, *hooks.Call) (etf.Term, bool, error) {
			panic("oops")
		}}}, "int", tuple(etf.Atom("error"), tuple(etf.Atom("panic"), []byte("oops"))),
			[]string{"A start int", "B start int", "B error hooks: panic: \"oops\"", "A error hooks: panic: \"oops\""}},
		{"end error reaches outer", []hooks.Interceptor{{OnCallEnd: func(context.Context, *hooks.Call, etf.Term) (etf.Term, error) {
			return nil, errors.New("bad result")
		}}, r.observer("C")}, "int", tuple(etf.Atom("error"), tuple(etf.Atom("go"), []byte("bad result"))),
			[]string{"A start int", "B start int", "C start int", "C end 42", "B error hooks: go: \"bad result\"", "A error hooks: go: \"bad result\""}},
		{"end transforms", []hooks.Interceptor{{OnCallEnd: func(_ context.Context, _ *hooks.Call, v etf.Term) (etf.Term, error) {
			return etf.Tuple{etf.Atom("ok"), etf.Tuple{etf.Atom("wrapped"), v}}, nil
		}}}, "int", tuple(etf.Atom("ok"), tuple(etf.Atom("wrapped"), int64(42))),
			[]string{"A start int", "B start int", "B end [wrapped 42]", "A end [wrapped 42]"}},
		{"end panic", []hooks.Interceptor{{OnCallEnd: func(context.Context, *hooks.Call, etf.Term) (etf.Term, error) {
			panic("late")
		}}}, "int", tuple(etf.Atom("error"), tuple(etf.Atom("panic"), []byte("late"))),
			[]string{"A start int", "B start int", "B error hooks: panic: \"late\"", "A error hooks: panic: \"late\""}},
	}
	e := newEngine(t, hooks.Options{})
	mustRegister(t, e, "echo", hooks.Func(echo))
	e.Use(r.observer("A"))
	e.Use(r.observer("B"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := e.Execute(context.Background(), call("echo", tt.action), tt.percall...)
			if got := hooks.Reply(v, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Execute = %v; want %v", got, tt.want)
			}
			if got := r.take(); !reflect.DeepEqual(got, tt.events) {
				t.Errorf("events:\n got %q\nwant %q", got, tt.events)
			}
		})
	}
}

func TestInterceptorChangesCall(t *testing.T) {
	e := newEngine(t, hooks.Options{})
	mustRegister(t, e, "echo", hooks.Func(echo))
	reroute := hooks.Interceptor{OnCallStart: func(_ context.Context, c *hooks.Call) (etf.Term, bool, error) {
		if c.AppPath == "old" {
			c.AppPath, c.Action, c.Args = "echo", "value", []etf.Term{etf.Atom("rerouted")}
		}
		return nil, false, nil
	}}
	e.Use(reroute)
	args := []etf.Term{int64(1)}
	if v, err := e.Execute(context.Background(), hooks.Call{AppPath: "old", Action: "x", Args: args}); v != etf.Atom("rerouted") || err != nil {
		t.Errorf("Execute(old) = %v, %v; want rerouted", v, err)
	}
	if args[0] != int64(1) {
		t.Errorf("caller's args changed to %v", args)
	}
	id, _ := e.ExecuteAsync(hooks.Call{AppPath: "old", Action: "x"})
	if v, err := e.AwaitResult(context.Background(), id, -1); v != etf.Atom("rerouted") || err != nil {
		t.Errorf("async Execute(old) = %v, %v; want rerouted", v, err)
	}
	id, _ = e.ExecuteAsync(call("echo", "value", int64(1)), hooks.Interceptor{
		OnCallEnd: func(_ context.Context, _ *hooks.Call, v etf.Term) (etf.Term, error) { return etf.List{v}, nil },
	})
	if v, err := e.AwaitResult(context.Background(), id, -1); !reflect.DeepEqual(v, etf.List{int64(1)}) || err != nil {
		t.Errorf("async with a per-call interceptor = %v, %v; want [1]", v, err)
	}
}

func TestInterceptorStreams(t *testing.T) {
	var r recorder
	e := newEngine(t, hooks.Options{})
	mustRegister(t, e, "s", hooks.Func(streamer))
	e.Use(r.observer("A"))
	double := hooks.Interceptor{OnStreamChunk: func(_ context.Context, _ *hooks.Call, v etf.Term) (etf.Term, error) {
		if n, ok := v.(int64); ok {
			if n == 2 {
				return nil, errors.New("no twos")
			}
			return n * 10, nil
		}
		return v, nil
	}}

	s, _ := e.Stream(context.Background(), call("s", "seq"), double)
	got, err := collect(t, s)
	if !reflect.DeepEqual(got, []etf.Term{int64(0), int64(10)}) || !errors.Is(err, hooks.ErrGo) {
		t.Errorf("stream = %v, %v; want [0 10], go error", got, err)
	}
	want := []string{"A stream_start seq", "A chunk 0", "A chunk 10", "A stream_end hooks: go: \"no twos\""}
	if ev := r.take(); !reflect.DeepEqual(ev, want) {
		t.Errorf("events:\n got %q\nwant %q", ev, want)
	}

	s, _ = e.Stream(context.Background(), call("s", "seq"))
	s.Next(context.Background())
	s.Close()
	s.Close()
	want = []string{"A stream_start seq", "A chunk 0", "A stream_end hooks: cancelled"}
	if ev := r.take(); !reflect.DeepEqual(ev, want) {
		t.Errorf("early close events:\n got %q\nwant %q", ev, want)
	}

	s, _ = e.Stream(context.Background(), call("s", "value"))
	collect(t, s)
	want = []string{"A stream_start value", "A chunk [111 110 101]", "A stream_end <nil>"}
	if ev := r.take(); !reflect.DeepEqual(ev, want) {
		t.Errorf("normal end events:\n got %q\nwant %q", ev, want)
	}

	refuse := hooks.Interceptor{OnStreamStart: func(context.Context, *hooks.Call) error { return hooks.ErrOverloaded }}
	if _, err := e.Stream(context.Background(), call("s", "seq"), refuse, r.observer("C")); !errors.Is(err, hooks.ErrOverloaded) {
		t.Errorf("Stream refused by an interceptor = %v; want overloaded", err)
	}
	want = []string{"A stream_start seq", "A stream_end hooks: overloaded"}
	if ev := r.take(); !reflect.DeepEqual(ev, want) {
		t.Errorf("refused events:\n got %q\nwant %q", ev, want)
	}

	if _, err := e.Stream(context.Background(), call("s", "fail")); !errors.Is(err, hooks.ErrGo) {
		t.Errorf("Stream of a failing handler = %v; want go error", err)
	}
	want = []string{"A stream_start fail", "A stream_end hooks: go: \"cannot start\""}
	if ev := r.take(); !reflect.DeepEqual(ev, want) {
		t.Errorf("failed open events:\n got %q\nwant %q", ev, want)
	}

	boom := hooks.Interceptor{OnStreamChunk: func(context.Context, *hooks.Call, etf.Term) (etf.Term, error) { panic("chunk") }}
	s, _ = e.Stream(context.Background(), call("s", "seq"), boom)
	if _, err := s.Next(context.Background()); !errors.Is(err, hooks.ErrPanic) {
		t.Errorf("Next with a panicking chunk callback = %v; want panic", err)
	}
	if _, err := s.Next(context.Background()); !errors.Is(err, hooks.ErrPanic) {
		t.Errorf("Next after the failure = %v; want the same panic", err)
	}
	s.Close()
	r.take()
	if _, err := s.Next(context.Background()); err == io.EOF {
		t.Errorf("Next after a failure and Close = io.EOF; want the failure")
	}
}
