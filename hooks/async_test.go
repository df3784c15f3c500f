package hooks_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
)

func TestAsync(t *testing.T) {
	e := newEngine(t, hooks.Options{})
	release := make(chan struct{})
	mustRegister(t, e, "gate", hooks.Func(func(ctx context.Context, action string, args []etf.Term, _ etf.Map) (any, error) {
		if action == "wait" {
			select {
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return args[0], nil
	}))
	id, err := e.ExecuteAsync(call("gate", "wait", int64(5)))
	if err != nil {
		t.Fatal(err)
	}
	if len(id) != 22 {
		t.Errorf("task id %q has %d characters; want 22", id, len(id))
	}
	if _, err := e.AwaitResult(context.Background(), id, 10*time.Millisecond); !errors.Is(err, hooks.ErrTimeout) {
		t.Errorf("AwaitResult before the result = %v; want timeout", err)
	}
	if _, err := e.AwaitResult(context.Background(), id, 0); !errors.Is(err, hooks.ErrTimeout) {
		t.Errorf("AwaitResult(0) before the result = %v; want timeout", err)
	}
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if v, err := e.AwaitResult(context.Background(), id, -1); v != int64(5) || err != nil {
				t.Errorf("concurrent AwaitResult = %v, %v; want 5", v, err)
			}
		}()
	}
	close(release)
	wg.Wait()
	if v, err := e.AwaitResult(context.Background(), id, 0); v != int64(5) || err != nil {
		t.Errorf("AwaitResult after delivery = %v, %v; want 5 again", v, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if v, err := e.AwaitResult(ctx, id, time.Second); v != int64(5) || err != nil {
		t.Errorf("AwaitResult with a done ctx on a finished task = %v, %v; want 5", v, err)
	}
	if _, err := e.AwaitResult(context.Background(), "nope", time.Second); !errors.Is(err, hooks.ErrTaskNotFound) ||
		!etf.Equal(hooks.ReasonOf(err), tuple(etf.Atom("task_not_found"), []byte("nope"))) {
		t.Errorf("AwaitResult(unknown) = %v; want {task_not_found, <<\"nope\">>}", err)
	}
	if err := e.Cancel("nope"); !errors.Is(err, hooks.ErrTaskNotFound) {
		t.Errorf("Cancel(unknown) = %v; want task_not_found", err)
	}
	id3, _ := e.ExecuteAsync(call("gate", "now", int64(3)))
	if _, err := e.AwaitResult(context.Background(), id3, time.Second); err != nil {
		t.Errorf("AwaitResult = %v; want success", err)
	}
	id4, _ := e.ExecuteAsync(call("nowhere", "x"))
	if _, err := e.AwaitResult(context.Background(), id4, time.Second); !errors.Is(err, hooks.ErrNotFound) {
		t.Errorf("AwaitResult of a call to an unknown path = %v; want not_found", err)
	}
}

func TestAsyncCancel(t *testing.T) {
	e := newEngine(t, hooks.Options{})
	stopped := make(chan error, 1)
	mustRegister(t, e, "forever", hooks.Func(func(ctx context.Context, _ string, _ []etf.Term, _ etf.Map) (any, error) {
		<-ctx.Done()
		stopped <- ctx.Err()
		return nil, ctx.Err()
	}))
	id, _ := e.ExecuteAsync(call("forever", "x"))
	waitFor(t, func() bool { s, _ := e.Stats("forever"); return s.InFlight == 1 })
	if err := e.Cancel(id); err != nil {
		t.Fatalf("Cancel = %v", err)
	}
	if _, err := e.AwaitResult(context.Background(), id, time.Second); !errors.Is(err, hooks.ErrCancelled) {
		t.Errorf("AwaitResult after Cancel = %v; want cancelled", err)
	}
	if err := <-stopped; !errors.Is(err, context.Canceled) {
		t.Errorf("handler context = %v; want canceled", err)
	}
	if err := e.Cancel(id); err != nil {
		t.Errorf("second Cancel = %v; want nil", err)
	}
}

func TestAsyncTTLAndTimeout(t *testing.T) {
	e := newEngine(t, hooks.Options{ResultTTL: 30 * time.Millisecond, TaskTimeout: 20 * time.Millisecond})
	mustRegister(t, e, "echo", hooks.Func(echo))
	id, _ := e.ExecuteAsync(call("echo", "value", int64(1)))
	if v, err := e.AwaitResult(context.Background(), id, time.Second); v != int64(1) || err != nil {
		t.Fatalf("AwaitResult = %v, %v; want 1", v, err)
	}
	waitFor(t, func() bool {
		_, err := e.AwaitResult(context.Background(), id, 0)
		return errors.Is(err, hooks.ErrTaskNotFound)
	})
	slow, _ := e.ExecuteAsync(call("echo", "deaf"))
	start := time.Now()
	if _, err := e.AwaitResult(context.Background(), slow, time.Second); !errors.Is(err, hooks.ErrTimeout) {
		t.Errorf("AwaitResult of a task past TaskTimeout = %v; want timeout", err)
	}
	if d := time.Since(start); d > 150*time.Millisecond {
		t.Errorf("task timeout took %v; want about 20ms", d)
	}
	never, _ := e.ExecuteAsync(call("echo", "value", int64(2)))
	waitFor(t, func() bool {
		_, err := e.AwaitResult(context.Background(), never, 0)
		return errors.Is(err, hooks.ErrTaskNotFound)
	})
}

func TestAsyncQueueAndClose(t *testing.T) {
	e := hooks.New(hooks.Options{MaxAsync: 2})
	release := make(chan struct{})
	var mu sync.Mutex
	running, peak := 0, 0
	mustRegister(t, e, "gate", hooks.Func(func(ctx context.Context, _ string, args []etf.Term, _ etf.Map) (any, error) {
		mu.Lock()
		running++
		peak = max(peak, running)
		mu.Unlock()
		defer func() { mu.Lock(); running--; mu.Unlock() }()
		select {
		case <-release:
			return args[0], nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}))
	var ids []hooks.TaskID
	for i := range 6 {
		id, _ := e.ExecuteAsync(call("gate", "x", int64(i)))
		ids = append(ids, id)
	}
	close(release)
	for i, id := range ids {
		if v, err := e.AwaitResult(context.Background(), id, time.Second); v != int64(i) || err != nil {
			t.Errorf("task %d = %v, %v; want %d", i, v, err, i)
		}
	}
	if peak > 2 {
		t.Errorf("%d tasks ran at once; want at most MaxAsync=2", peak)
	}
	block := make(chan struct{})
	defer close(block)
	mustRegister(t, e, "block", hooks.Func(func(ctx context.Context, _ string, _ []etf.Term, _ etf.Map) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}))
	var pending []hooks.TaskID
	for range 4 {
		id, _ := e.ExecuteAsync(call("block", "x"))
		pending = append(pending, id)
	}
	e.Close()
	for _, id := range pending {
		if _, err := e.AwaitResult(context.Background(), id, time.Second); !errors.Is(err, hooks.ErrClosed) {
			t.Errorf("task pending at Close = %v; want closed", err)
		}
	}
}

func TestRelease(t *testing.T) {
	e := newEngine(t, hooks.Options{})
	started, stopped := make(chan struct{}), make(chan struct{})
	mustRegister(t, e, "r", hooks.Func(func(ctx context.Context, action string, args []etf.Term, _ etf.Map) (any, error) {
		if action == "block" {
			close(started)
			<-ctx.Done()
			close(stopped)
			return nil, ctx.Err()
		}
		return args[0], nil
	}))
	var done []hooks.TaskID
	for i := range 1000 {
		id, err := e.ExecuteAsync(call("r", "echo", int64(i)))
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, id)
	}
	for _, id := range done {
		if _, err := e.AwaitResult(context.Background(), id, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	running, err := e.ExecuteAsync(call("r", "block", int64(0)))
	if err != nil {
		t.Fatal(err)
	}
	<-started
	if got := e.Tasks(); got != 1001 {
		t.Errorf("Tasks() = %d; want 1001", got)
	}
	for _, id := range append(done, running) {
		e.Release(id)
	}
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the running task was not cancelled")
	}
	if got := e.Tasks(); got != 0 {
		t.Errorf("Tasks() after Release = %d; want 0", got)
	}
	if _, err := e.AwaitResult(context.Background(), done[0], 0); !errors.Is(err, hooks.ErrTaskNotFound) {
		t.Errorf("AwaitResult of a released task = %v; want task_not_found", err)
	}
	e.Release("unknown")
}
