package hooks_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
)

// newEngine returns an engine closed at the end of the test.
func newEngine(t testing.TB, opts hooks.Options) *hooks.Engine {
	t.Helper()
	e := hooks.New(opts)
	t.Cleanup(func() { e.Close() })
	return e
}

func mustRegister(t testing.TB, e *hooks.Engine, path string, h hooks.Handler, opts ...hooks.RegisterOption) {
	t.Helper()
	if err := e.Register(path, h, opts...); err != nil {
		t.Fatalf("Register(%q) = %v", path, err)
	}
}

// echo is a Func whose actions exercise every outcome of the result rule.
func echo(ctx context.Context, action string, args []etf.Term, kwargs etf.Map) (any, error) {
	switch action {
	case "value":
		return args[0], nil
	case "int":
		return 42, nil
	case "ok":
		return etf.Tuple{etf.Atom("ok"), args[0]}, nil
	case "error":
		return etf.Tuple{etf.Atom("error"), args[0]}, nil
	case "go_error":
		return nil, errors.New("disk full")
	case "hooks_error":
		return nil, &hooks.Error{Kind: "forbidden", Detail: []byte("no")}
	case "panic":
		panic("boom")
	case "nil_map":
		var m map[string]int
		return m["x"] / len(m), nil
	case "sleep":
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
		}
		return nil, ctx.Err()
	case "deaf":
		time.Sleep(200 * time.Millisecond)
		return etf.Atom("late"), nil
	case "kwargs":
		return kwargs, nil
	case "_private":
		return etf.Atom("leak"), nil
	}
	return nil, hooks.UnknownAction(action)
}

func call(path, action string, args ...etf.Term) hooks.Call {
	return hooks.Call{AppPath: path, Action: action, Args: args}
}

func TestExecuteResults(t *testing.T) {
	e := newEngine(t, hooks.Options{})
	mustRegister(t, e, "echo", hooks.Func(echo))
	kw := etf.Map{{Key: []byte("k"), Value: int64(1)}}
	tests := []struct {
		name string
		call hooks.Call
		want etf.Term // the reply term
	}{
		{"value", call("echo", "value", int64(1)), tuple(etf.Atom("ok"), int64(1))},
		{"go int", call("echo", "int"), tuple(etf.Atom("ok"), int64(42))},
		{"ok tuple", call("echo", "ok", []byte("x")), tuple(etf.Atom("ok"), []byte("x"))},
		{"error tuple", call("echo", "error", etf.Atom("nope")), tuple(etf.Atom("error"), etf.Atom("nope"))},
		{"go error", call("echo", "go_error"), tuple(etf.Atom("error"), tuple(etf.Atom("go"), []byte("disk full")))},
		{"hooks error", call("echo", "hooks_error"), tuple(etf.Atom("error"), tuple(etf.Atom("forbidden"), []byte("no")))},
		{"panic", call("echo", "panic"), tuple(etf.Atom("error"), tuple(etf.Atom("panic"), []byte("boom")))},
		{"runtime panic", call("echo", "nil_map"), tuple(etf.Atom("error"), tuple(etf.Atom("panic"), []byte("runtime error: integer divide by zero")))},
		{"kwargs", hooks.Call{AppPath: "echo", Action: "kwargs", Kwargs: kw}, tuple(etf.Atom("ok"), kw)},
		{"not found", call("nope", "value"), tuple(etf.Atom("error"), tuple(etf.Atom("not_found"), []byte("nope")))},
		{"unknown action", call("echo", "fly"), tuple(etf.Atom("error"), tuple(etf.Atom("unknown_action"), []byte("fly")))},
		{"underscore action", call("echo", "_private"), tuple(etf.Atom("error"), tuple(etf.Atom("unknown_action"), []byte("_private")))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := e.Execute(context.Background(), tt.call)
			if err != nil {
				var he *hooks.Error
				if !errors.As(err, &he) || err.(*hooks.Error) != he {
					t.Fatalf("Execute error %T is not a *hooks.Error", err)
				}
			}
			if got := hooks.Reply(v, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Execute(%v) = %#v; want %#v", tt.call, got, tt.want)
			}
		})
	}
}

func TestExecuteDeadline(t *testing.T) {
	e := newEngine(t, hooks.Options{})
	mustRegister(t, e, "echo", hooks.Func(echo))
	for _, action := range []string{"sleep", "deaf"} {
		t.Run(action, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := e.Execute(ctx, call("echo", action))
			if !errors.Is(err, hooks.ErrTimeout) {
				t.Errorf("Execute = %v; want timeout", err)
			}
			if d := time.Since(start); d > 150*time.Millisecond {
				t.Errorf("Execute took %v; want about 20ms", d)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(10*time.Millisecond, cancel)
		if _, err := e.Execute(ctx, call("echo", "sleep")); !errors.Is(err, hooks.ErrCancelled) {
			t.Errorf("Execute = %v; want cancelled", err)
		}
	})
	t.Run("already past", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), -time.Second)
		defer cancel()
		if _, err := e.Execute(ctx, call("echo", "value", int64(1))); !errors.Is(err, hooks.ErrTimeout) {
			t.Errorf("Execute = %v; want timeout", err)
		}
	})
	t.Run("in time", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if v, err := e.Execute(ctx, call("echo", "value", int64(1))); err != nil || v != int64(1) {
			t.Errorf("Execute = %v, %v; want 1, nil", v, err)
		}
	})
}

// describer is a remote-like handler: it reports its kind and owner.
type describer struct{ hooks.Func }

func (describer) Describe() (string, etf.Term) { return "erlang", etf.Atom("owner") }

func TestRegistry(t *testing.T) {
	e := newEngine(t, hooks.Options{})
	h := hooks.Func(func(context.Context, string, []etf.Term, etf.Map) (any, error) { return int64(1), nil })
	h2 := hooks.Func(func(context.Context, string, []etf.Term, etf.Map) (any, error) { return int64(2), nil })
	mustRegister(t, e, "b", h)
	mustRegister(t, e, "a", describer{h})
	if info, ok := e.Find("a"); !ok || info != (hooks.Info{AppPath: "a", Kind: "erlang", Owner: etf.Atom("owner")}) {
		t.Errorf("Find(a) = %v, %v; want erlang owner", info, ok)
	}
	if info, ok := e.Find("b"); !ok || info.Kind != "go" || info.Owner != nil {
		t.Errorf("Find(b) = %v, %v; want kind go", info, ok)
	}
	if got := e.All(); len(got) != 2 || got[0].AppPath != "a" || got[1].AppPath != "b" {
		t.Errorf("All() = %v; want a, b", got)
	}
	mustRegister(t, e, "b", h2)
	if v, _ := e.Execute(context.Background(), call("b", "x")); v != int64(2) {
		t.Errorf("after re-registering, Execute = %v; want 2", v)
	}
	if !e.Unregister("b") || e.Unregister("b") {
		t.Errorf("Unregister(b) twice did not return true, false")
	}
	if _, ok := e.Find("b"); ok {
		t.Errorf("Find(b) after Unregister found it")
	}
	for _, bad := range []struct {
		path string
		h    hooks.Handler
		opts []hooks.RegisterOption
	}{{"", h, nil}, {"x", nil, nil}, {"x", h, []hooks.RegisterOption{hooks.WithLimit(-1, 0)}}} {
		if err := e.Register(bad.path, bad.h, bad.opts...); !errors.Is(err, hooks.ErrBadArg) {
			t.Errorf("Register(%q, %v) = %v; want badarg", bad.path, bad.h, err)
		}
	}
}

func TestObserve(t *testing.T) {
	e := newEngine(t, hooks.Options{})
	h := hooks.Func(echo)
	mustRegister(t, e, "b", h)
	mustRegister(t, e, "a", h)
	var got []string
	cancel := e.Observe(func(appPath string, registered bool) {
		got = append(got, fmt.Sprintf("%s %v", appPath, registered))
	})
	mustRegister(t, e, "c", h)
	mustRegister(t, e, "c", h) // a replacement is no change
	e.Unregister("a")
	e.Unregister("a")
	cancel()
	mustRegister(t, e, "d", h)
	want := []string{"a true", "b true", "c true", "a false"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v; want %v", got, want)
	}
}

func TestRegistryConcurrent(t *testing.T) {
	e := newEngine(t, hooks.Options{})
	h := hooks.Func(echo)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := range 200 {
				path := fmt.Sprintf("p%d", (i+j)%5)
				if j%3 == 0 {
					e.Unregister(path)
				} else {
					e.Register(path, h)
				}
			}
		}()
		go func() {
			defer wg.Done()
			for j := range 200 {
				v, err := e.Execute(context.Background(), call(fmt.Sprintf("p%d", j%5), "value", int64(j)))
				if err == nil && v != int64(j) || err != nil && !errors.Is(err, hooks.ErrNotFound) {
					t.Errorf("Execute = %v, %v; want %d or not_found", v, err, j)
				}
				e.All()
			}
		}()
	}
	wg.Wait()
}

func TestLimits(t *testing.T) {
	e := newEngine(t, hooks.Options{})
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	blocker := hooks.Func(func(ctx context.Context, _ string, _ []etf.Term, _ etf.Map) (any, error) {
		entered <- struct{}{}
		<-release
		return etf.Atom("done"), nil
	})
	mustRegister(t, e, "slow", blocker, hooks.WithLimit(2, 1))
	var wg sync.WaitGroup
	results := make(chan error, 3)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.Execute(context.Background(), call("slow", "x"))
			results <- err
		}()
	}
	<-entered
	<-entered
	waitFor(t, func() bool { s, _ := e.Stats("slow"); return s.Queued == 1 })
	if _, err := e.Execute(context.Background(), call("slow", "x")); !errors.Is(err, hooks.ErrOverloaded) {
		t.Errorf("fourth Execute = %v; want overloaded", err)
	}
	if s, _ := e.Stats("slow"); s.InFlight != 2 || s.Queued != 1 {
		t.Errorf("Stats = %+v; want 2 in flight, 1 queued", s)
	}
	close(release)
	wg.Wait()
	close(results)
	for err := range results {
		if err != nil {
			t.Errorf("queued Execute = %v; want success", err)
		}
	}
	s, _ := e.Stats("slow")
	if s.Calls != 4 || s.Errors != 1 || s.InFlight != 0 || s.Queued != 0 || s.Latency.Count() != 3 {
		t.Errorf("Stats = %+v; want 4 calls, 1 error, 3 latencies", s)
	}
}

func TestQueueDeadline(t *testing.T) {
	e := newEngine(t, hooks.Options{})
	release := make(chan struct{})
	defer close(release)
	mustRegister(t, e, "one", hooks.Func(func(ctx context.Context, _ string, _ []etf.Term, _ etf.Map) (any, error) {
		<-release
		return nil, nil
	}), hooks.WithLimit(1, 5))
	go e.Execute(context.Background(), call("one", "x"))
	waitFor(t, func() bool { s, _ := e.Stats("one"); return s.InFlight == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := e.Execute(ctx, call("one", "x")); !errors.Is(err, hooks.ErrTimeout) {
		t.Errorf("queued Execute past its deadline = %v; want timeout", err)
	}
}

func TestStats(t *testing.T) {
	e := newEngine(t, hooks.Options{})
	mustRegister(t, e, "echo", hooks.Func(echo))
	for _, a := range []string{"int", "int", "go_error", "panic", "fly"} {
		e.Execute(context.Background(), call("echo", a))
	}
	s, ok := e.Stats("echo")
	if !ok || s.Calls != 5 || s.Errors != 3 || s.InFlight != 0 || s.Latency.Count() != 5 {
		t.Errorf("Stats = %+v, %v; want 5 calls, 3 errors, 5 latencies", s, ok)
	}
	if len(s.Latency.Counts) != len(s.Latency.Bounds)+1 || s.Latency.Counts[0] == 0 {
		t.Errorf("Latency = %+v; want fast calls in the first bucket", s.Latency)
	}
	if _, ok := e.Stats("nope"); ok {
		t.Errorf("Stats(nope) found it")
	}
}

func TestClosed(t *testing.T) {
	e := hooks.New(hooks.Options{})
	mustRegister(t, e, "echo", hooks.Func(echo))
	e.Close()
	e.Close()
	if _, err := e.Execute(context.Background(), call("echo", "int")); !errors.Is(err, hooks.ErrClosed) {
		t.Errorf("Execute after Close = %v; want closed", err)
	}
	if err := e.Register("x", hooks.Func(echo)); !errors.Is(err, hooks.ErrClosed) {
		t.Errorf("Register after Close = %v; want closed", err)
	}
	if _, err := e.ExecuteAsync(call("echo", "int")); !errors.Is(err, hooks.ErrClosed) {
		t.Errorf("ExecuteAsync after Close = %v; want closed", err)
	}
	if _, err := e.Stream(context.Background(), call("echo", "int")); !errors.Is(err, hooks.ErrClosed) {
		t.Errorf("Stream after Close = %v; want closed", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []hooks.Options{{Window: -1}, {ResultTTL: -1}, {TaskTimeout: -1}, {MaxAsync: -1}} {
		if err := o.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil; want an error", o)
		}
	}
	if err := (hooks.Options{}).Validate(); err != nil {
		t.Errorf("zero Options: Validate = %v", err)
	}
}

// waitFor polls cond for up to two seconds.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met in 2s")
		}
	}
}

func TestCloseStopsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	e := hooks.New(hooks.Options{MaxAsync: 4})
	mustRegister(t, e, "echo", hooks.Func(echo))
	mustRegister(t, e, "s", hooks.Func(streamer))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	e.Execute(ctx, call("echo", "sleep"))
	e.Execute(context.Background(), call("echo", "panic"))
	deadline, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	if _, err := e.Execute(deadline, call("echo", "panic")); !errors.Is(err, hooks.ErrPanic) {
		t.Errorf("panic on the deadline path = %v; want panic", err)
	}
	for range 10 {
		e.ExecuteAsync(call("echo", "sleep"))
	}
	s, _ := e.Stream(context.Background(), call("s", "seq"))
	s.Next(context.Background())
	e.Close()
	s.Close()
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before })
}
