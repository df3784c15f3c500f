package python_test

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
	"github.com/hornbeam-go/hornbeam/python"
)

// testModule is the Python module the workers run in these tests.
const testModule = `
import os
import threading
import time
from hornbeam_erlang import Atom, await_result, execute, execute_async, register_hook, stream


class Svc:
    def echo(self, *args, **kwargs):
        print("stdout is not the frame channel")
        return [list(args), kwargs]

    def pid(self):
        return os.getpid()

    def sleep(self, ms):
        time.sleep(ms / 1000)
        return Atom("ok")

    def fail(self):
        raise ValueError("bad input")

    def refuse(self):
        return (Atom("error"), Atom("nope"))

    def count(self, n):
        try:
            yield from range(n)
        finally:
            execute("go.closed", "mark", n)

    def add_in_go(self, a, b):
        return execute("go.calc", "add", a, b)

    def echo_via_node(self, value):
        return execute("py.svc", "echo", value)

    def go_stream(self, n):
        return list(stream("go.numbers", "range", n))

    def go_async(self, a, b):
        return await_result(execute_async("go.calc", "add", a, b), timeout_ms=5000)

    def quick_beside_slow(self, ms):
        slow = threading.Thread(target=execute, args=("go.slow", "sleep", ms))
        slow.start()
        time.sleep(0.05)
        t0 = time.monotonic()
        execute("go.calc", "add", 1, 2)
        quick_ms = int((time.monotonic() - t0) * 1000)
        slow.join()
        return quick_ms

    def back_via_go(self, value):
        return execute("go.background", "echo", value)


def setup():
    register_hook("py.svc", Svc)
    register_hook("py.fn", lambda action, *args, **kwargs: [action, list(args)])
`

// python3 returns the interpreter to test with, skipping the test without one.
func python3(t testing.TB) string {
	t.Helper()
	py := os.Getenv("HORNBEAM_PYTHON")
	if py == "" {
		py = "python3"
	}
	path, err := exec.LookPath(py)
	if err != nil {
		t.Skipf("no %s: %v", py, err)
	}
	return path
}

type fixture struct {
	eng    *hooks.Engine
	pool   *python.Pool
	closed chan int64
}

// start runs a pool of n workers over testModule, with Go hooks go.calc, go.numbers and go.closed.
func start(t testing.TB, n int) *fixture {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hbtest.py"), []byte(testModule), 0o644))
	f := &fixture{eng: hooks.New(hooks.Options{}), closed: make(chan int64, 16)}
	t.Cleanup(func() { f.eng.Close() })
	f.eng.Register("go.calc", hooks.Func(func(ctx context.Context, action string, args []etf.Term, kwargs etf.Map) (any, error) {
		return args[0].(int64) + args[1].(int64), nil
	}))
	f.eng.Register("go.numbers", hooks.Func(func(ctx context.Context, action string, args []etf.Term, kwargs etf.Map) (any, error) {
		return func(yield func(any) bool) {
			for i := range args[0].(int64) {
				if !yield(i) {
					return
				}
			}
		}, nil
	}))
	f.eng.Register("go.slow", hooks.Func(func(ctx context.Context, action string, args []etf.Term, kwargs etf.Map) (any, error) {
		select {
		case <-time.After(time.Duration(args[0].(int64)) * time.Millisecond):
			return etf.Atom("ok"), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}))
	f.eng.Register("go.background", hooks.Func(func(ctx context.Context, action string, args []etf.Term, kwargs etf.Map) (any, error) {
		return f.eng.Execute(context.Background(), hooks.Call{AppPath: "py.svc", Action: "echo", Args: args})
	}))
	f.eng.Register("go.closed", hooks.Func(func(ctx context.Context, action string, args []etf.Term, kwargs etf.Map) (any, error) {
		f.closed <- args[0].(int64)
		return nil, nil
	}))
	pool, err := python.Start(f.eng, python.Config{
		Module: "hbtest:setup", Workers: n, Python: python3(t), PythonPath: []string{dir},
		Output: io.Discard, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
	})
	require.NoError(t, err)
	t.Cleanup(func() { pool.Close() })
	f.pool = pool
	return f
}

func (f *fixture) exec(ctx context.Context, path, action string, args ...etf.Term) (etf.Term, error) {
	return f.eng.Execute(ctx, hooks.Call{AppPath: path, Action: action, Args: args})
}

func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestExecute(t *testing.T) {
	f := start(t, 2)
	ctx := ctxFor(t, 10*time.Second)
	info, ok := f.eng.Find("py.svc")
	require.True(t, ok)
	require.Equal(t, python.KindPython, info.Kind)

	tests := []struct {
		name   string
		path   string
		action string
		args   []etf.Term
		kwargs etf.Map
		want   etf.Term
		kind   etf.Atom
	}{
		{name: "class", path: "py.svc", action: "echo", args: []etf.Term{[]byte("a"), int64(1)},
			kwargs: etf.Map{{Key: []byte("k"), Value: 2.5}},
			want:   etf.List{etf.List{[]byte("a"), int64(1)}, etf.Map{{Key: []byte("k"), Value: 2.5}}}},
		{name: "function", path: "py.fn", action: "go", args: []etf.Term{etf.Atom("x")},
			want: etf.List{[]byte("go"), etf.List{etf.Atom("x")}}},
		{name: "result_rule", path: "py.svc", action: "refuse", kind: "nope"},
		{name: "exception", path: "py.svc", action: "fail", kind: "python"},
		{name: "private", path: "py.svc", action: "_secret", kind: "unknown_action"},
		{name: "unknown", path: "py.svc", action: "missing", kind: "unknown_action"},
		{name: "python_to_go", path: "py.svc", action: "add_in_go", args: []etf.Term{int64(2), int64(3)}, want: int64(5)},
		{name: "python_to_python", path: "py.svc", action: "echo_via_node", args: []etf.Term{[]byte("x")},
			want: etf.List{etf.List{[]byte("x")}, etf.Map{}}},
		{name: "go_stream", path: "py.svc", action: "go_stream", args: []etf.Term{int64(3)}, want: etf.List{int64(0), int64(1), int64(2)}},
		{name: "async", path: "py.svc", action: "go_async", args: []etf.Term{int64(4), int64(5)}, want: int64(9)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.eng.Execute(ctx, hooks.Call{AppPath: tt.path, Action: tt.action, Args: tt.args, Kwargs: tt.kwargs})
			if tt.kind != "" {
				var he *hooks.Error
				require.ErrorAs(t, err, &he)
				require.Equal(t, tt.kind, he.Kind, "got %v", err)
				return
			}
			require.NoError(t, err)
			require.True(t, etf.Equal(tt.want, got), "got %#v; want %#v", got, tt.want)
		})
	}
}

// Python → Go executes run on the link's reader; a slow Go hook must not hold up the process's other calls,
// and a Go hook that calls back into the same process without the context it was given (so nothing tells the
// link that its reader is waiting) still gets its reply.
func TestGoHooksRunOnTheReader(t *testing.T) {
	f := start(t, 1)
	ctx := ctxFor(t, 10*time.Second)

	quick, err := f.exec(ctx, "py.svc", "quick_beside_slow", int64(1000))
	require.NoError(t, err)
	require.Less(t, quick.(int64), int64(500), "got a quick call of %v ms beside a slow one of 1000 ms", quick)

	got, err := f.exec(ctx, "py.svc", "back_via_go", []byte("x"))
	require.NoError(t, err)
	want := etf.List{etf.List{[]byte("x")}, etf.Map{}}
	require.True(t, etf.Equal(want, got), "got %#v; want %#v", got, want)
}

func TestExceptionReason(t *testing.T) {
	f := start(t, 1)
	_, err := f.exec(ctxFor(t, 10*time.Second), "py.svc", "fail")
	reason, ok := hooks.ReasonOf(err).(etf.Tuple)
	require.True(t, ok, "got %v", err)
	require.Len(t, reason, 4)
	require.Equal(t, etf.Atom("python"), reason[0])
	require.Equal(t, []byte("ValueError"), reason[1])
	require.Equal(t, []byte("bad input"), reason[2])
	require.Contains(t, string(reason[3].([]byte)), "Traceback")
}

func TestStream(t *testing.T) {
	f := start(t, 1)
	ctx := ctxFor(t, 10*time.Second)
	s, err := f.eng.Stream(ctx, hooks.Call{AppPath: "py.svc", Action: "count", Args: []etf.Term{int64(300)}, Window: 8})
	require.NoError(t, err)
	var got []int64
	for {
		c, err := s.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		got = append(got, c.(int64))
	}
	s.Close()
	require.Len(t, got, 300)
	require.Equal(t, int64(299), got[299])
	require.Equal(t, int64(300), <-f.closed)
}

func TestStreamCloseEarly(t *testing.T) {
	f := start(t, 1)
	ctx := ctxFor(t, 10*time.Second)
	s, err := f.eng.Stream(ctx, hooks.Call{AppPath: "py.svc", Action: "count", Args: []etf.Term{int64(1 << 40)}, Window: 4})
	require.NoError(t, err)
	for range 3 {
		_, err := s.Next(ctx)
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())
	select {
	case n := <-f.closed:
		require.Equal(t, int64(1<<40), n)
	case <-time.After(5 * time.Second):
		t.Fatal("the generator was not closed")
	}
}

func TestConcurrentCallsSpreadOverWorkers(t *testing.T) {
	f := start(t, 2)
	ctx := ctxFor(t, 10*time.Second)
	pids := make(chan int64, 8)
	start := time.Now()
	for range 4 {
		go func() {
			f.exec(ctx, "py.svc", "sleep", int64(300))
			v, _ := f.exec(ctx, "py.svc", "pid")
			pids <- v.(int64)
		}()
	}
	seen := map[int64]bool{}
	for range 4 {
		seen[<-pids] = true
	}
	require.Less(t, time.Since(start), 2*time.Second, "slow calls ran one after another")
	workers := f.pool.Workers()
	require.Len(t, workers, 2)
	for pid := range seen {
		require.Contains(t, workers, int(pid))
	}
}

func TestWorkerKilledMidCall(t *testing.T) {
	f := start(t, 1)
	ctx := ctxFor(t, 20*time.Second)
	pid := f.pool.Workers()[0]
	require.NotZero(t, pid)

	errc := make(chan error, 1)
	go func() {
		_, err := f.exec(ctx, "py.svc", "sleep", int64(30000))
		errc <- err
	}()
	he := killMidCall(t, pid, errc)
	require.Contains(t, string(he.Detail.([]byte)), "killed")

	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := f.exec(ctx, "py.svc", "pid")
		if err == nil {
			require.NotEqual(t, int64(pid), v)
			break
		}
		require.True(t, time.Now().Before(deadline), "pool did not recover: %v", err)
		time.Sleep(20 * time.Millisecond)
	}
}

// deferred runs call with Engine.ExecuteDeferred and waits up to 10 s for its outcome; taken is false when
// the engine declined it.
func (f *fixture) deferred(t *testing.T, call hooks.Call) (v etf.Term, err error, taken bool) {
	t.Helper()
	type outcome struct {
		v   etf.Term
		err error
	}
	done := make(chan outcome, 1)
	if !f.eng.ExecuteDeferred(call, 0, func(v etf.Term, err error) { done <- outcome{v, err} }) {
		return nil, nil, false
	}
	select {
	case o := <-done:
		return o.v, o.err, true
	case <-time.After(10 * time.Second):
		t.Fatalf("no outcome for %s/%s within 10 s", call.AppPath, call.Action)
	}
	return nil, nil, false
}

// A deferred execute (the node's path for Erlang callers) gets what Execute would: the result rule, errors
// as kinds, nested calls back through the node; the engine declines what it cannot defer.
func TestExecuteDeferred(t *testing.T) {
	f := start(t, 2)
	tests := []struct {
		name   string
		path   string
		action string
		args   []etf.Term
		want   etf.Term
		kind   etf.Atom
		taken  bool
	}{
		{name: "class", path: "py.svc", action: "echo", args: []etf.Term{[]byte("a")}, taken: true,
			want: etf.List{etf.List{[]byte("a")}, etf.Map{}}},
		{name: "result_rule", path: "py.svc", action: "refuse", kind: "nope", taken: true},
		{name: "exception", path: "py.svc", action: "fail", kind: "python", taken: true},
		{name: "unknown", path: "py.svc", action: "missing", kind: "unknown_action", taken: true},
		{name: "python_to_python", path: "py.svc", action: "echo_via_node", args: []etf.Term{[]byte("x")}, taken: true,
			want: etf.List{etf.List{[]byte("x")}, etf.Map{}}},
		{name: "private", path: "py.svc", action: "_secret"},
		{name: "go_hook", path: "go.calc", action: "add", args: []etf.Term{int64(1), int64(2)}},
		{name: "not_found", path: "py.none", action: "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err, taken := f.deferred(t, hooks.Call{AppPath: tt.path, Action: tt.action, Args: tt.args})
			require.Equal(t, tt.taken, taken, "got taken %v; want %v", taken, tt.taken)
			switch {
			case !taken:
			case tt.kind != "":
				var he *hooks.Error
				require.ErrorAs(t, err, &he)
				require.Equal(t, tt.kind, he.Kind, "got %v", err)
			default:
				require.NoError(t, err)
				require.True(t, etf.Equal(tt.want, got), "got %#v; want %#v", got, tt.want)
			}
		})
	}
	stats, ok := f.eng.Stats("py.svc")
	require.True(t, ok)
	require.Equal(t, int64(0), stats.InFlight, "got %d in flight; want 0", stats.InFlight)
}

// A deferred call with a timeout fails with timeout at its deadline, and the worker goes on serving.
func TestExecuteDeferredTimeout(t *testing.T) {
	f := start(t, 1)
	errc := make(chan error, 1)
	began := time.Now()
	require.True(t, f.eng.ExecuteDeferred(hooks.Call{AppPath: "py.svc", Action: "sleep", Args: []etf.Term{int64(2000)}},
		100*time.Millisecond, func(_ etf.Term, err error) { errc <- err }))
	select {
	case err := <-errc:
		require.ErrorIs(t, err, hooks.ErrTimeout)
		require.Less(t, time.Since(began), time.Second)
	case <-time.After(5 * time.Second):
		t.Fatal("the deferred call did not time out")
	}
	got, err := f.exec(ctxFor(t, 10*time.Second), "py.svc", "pid")
	require.NoError(t, err)
	require.Equal(t, int64(f.pool.Workers()[0]), got)
}

// A deferred call in flight on a worker that is killed fails with worker_exit within a second.
func TestWorkerKilledMidDeferredCall(t *testing.T) {
	f := start(t, 1)
	pid := f.pool.Workers()[0]
	require.NotZero(t, pid)
	errc := make(chan error, 1)
	require.True(t, f.eng.ExecuteDeferred(hooks.Call{AppPath: "py.svc", Action: "sleep", Args: []etf.Term{int64(30000)}}, 0,
		func(_ etf.Term, err error) { errc <- err }))
	killMidCall(t, pid, errc)
}

// killMidCall kills worker pid 200 ms into the call whose error comes on errc, and requires that error to be
// worker_exit within a second of the kill; it returns the error.
func killMidCall(t *testing.T, pid int, errc <-chan error) *hooks.Error {
	t.Helper()
	time.Sleep(200 * time.Millisecond)
	killed := time.Now()
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	select {
	case err := <-errc:
		require.Less(t, time.Since(killed), time.Second)
		var he *hooks.Error
		require.ErrorAs(t, err, &he)
		require.Equal(t, python.KindWorkerExit, he.Kind, "got %v", err)
		return he
	case <-time.After(time.Second):
		t.Fatal("the call did not fail within 1s of the kill")
		return nil
	}
}

func TestWorkerKilledMidStream(t *testing.T) {
	f := start(t, 1)
	ctx := ctxFor(t, 10*time.Second)
	s, err := f.eng.Stream(ctx, hooks.Call{AppPath: "py.svc", Action: "count", Args: []etf.Term{int64(1 << 40)}, Window: 2})
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Next(ctx)
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(f.pool.Workers()[0], syscall.SIGKILL))
	for {
		_, err = s.Next(ctx)
		if err != nil {
			break
		}
	}
	var he *hooks.Error
	require.ErrorAs(t, err, &he)
	require.Equal(t, python.KindWorkerExit, he.Kind, "got %v", err)
}

func TestCloseLeavesNoProcess(t *testing.T) {
	f := start(t, 2)
	pids := f.pool.Workers()
	go f.exec(context.Background(), "py.svc", "sleep", int64(30000))
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, f.pool.Close())
	for _, pid := range pids {
		err := syscall.Kill(pid, 0)
		require.ErrorIs(t, err, syscall.ESRCH, "worker %d still runs", pid)
	}
	_, ok := f.eng.Find("py.svc")
	require.False(t, ok)
}

func TestStartFailure(t *testing.T) {
	eng := hooks.New(hooks.Options{})
	defer eng.Close()
	_, err := python.Start(eng, python.Config{Module: "no_such_module_here", Python: python3(t), Output: io.Discard})
	require.Error(t, err)
	require.Contains(t, err.Error(), "ModuleNotFoundError")
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  python.Config
		ok   bool
	}{
		{"zero", python.Config{}, true},
		{"module", python.Config{Module: "m:f", Workers: 3}, true},
		{"negative_workers", python.Config{Workers: -1}, false},
		{"workers_without_module", python.Config{Workers: 2}, false},
		{"empty_function", python.Config{Module: "m:"}, false},
		{"backoff", python.Config{MinBackoff: time.Second, MaxBackoff: time.Millisecond}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v; want ok %v", err, tt.ok)
			}
		})
	}
}

func TestAttach(t *testing.T) {
	py := python3(t)
	eng := hooks.New(hooks.Options{})
	defer eng.Close()
	pool, err := python.Start(eng, python.Config{})
	require.NoError(t, err)
	defer pool.Close()
	sock := filepath.Join(t.TempDir(), "hb.sock")
	require.NoError(t, pool.ListenUnix(sock))

	wd, err := os.Getwd()
	require.NoError(t, err)
	script := `
import sys
from hornbeam_erlang import register_hook
register_hook("attached", lambda action, x: x * 2)
print("registered", flush=True)
sys.stdin.read()
`
	cmd := exec.Command(py, "-c", script)
	cmd.Env = append(os.Environ(), "HORNBEAM_SOCKET="+sock, "PYTHONPATH="+wd)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer cmd.Wait()
	defer stdin.Close()
	line := make([]byte, 11)
	_, err = io.ReadFull(stdout, line)
	require.NoError(t, err)

	ctx := ctxFor(t, 10*time.Second)
	v, err := eng.Execute(ctx, hooks.Call{AppPath: "attached", Action: "double", Args: []etf.Term{int64(21)}})
	require.NoError(t, err)
	require.Equal(t, int64(42), v)

	stdin.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := eng.Find("attached"); !ok {
			break
		}
		require.True(t, time.Now().Before(deadline), "attached hook outlived its process")
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRoundTrip measures Go → Python → Go call latency on one worker.
func TestRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("latency measurement")
	}
	f := start(t, 1)
	ctx := ctxFor(t, 30*time.Second)
	const n = 2000
	d := make([]time.Duration, 0, n)
	for i := range n + 100 {
		t0 := time.Now()
		_, err := f.exec(ctx, "py.fn", "ping", int64(i))
		require.NoError(t, err)
		if i >= 100 {
			d = append(d, time.Since(t0))
		}
	}
	slices.Sort(d)
	t.Logf("Go→Python→Go round trip over %d calls: p50 %v, p90 %v, p99 %v", n, d[n/2], d[n*9/10], d[n*99/100])
}
