package hooks_test

import (
	"context"
	"io"
	"iter"
	"runtime"
	"testing"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
)

// trivial is a handler that allocates nothing, so allocations are the engine's.
func trivial(_ context.Context, _ string, args []etf.Term, _ etf.Map) (any, error) {
	return args[0], nil
}

func benchExecute(b *testing.B, ctx context.Context, e *hooks.Engine, ics ...hooks.Interceptor) {
	c := hooks.Call{AppPath: "t", Action: "echo", Args: []etf.Term{int64(1000)}}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := e.Execute(ctx, c, ics...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExecute is the engine's cost per Execute on a trivial Func, without a deadline.
func BenchmarkExecute(b *testing.B) {
	e := newEngine(b, hooks.Options{})
	mustRegister(b, e, "t", hooks.Func(trivial))
	benchExecute(b, context.Background(), e)
}

// BenchmarkExecuteParallel is BenchmarkExecute from GOMAXPROCS goroutines.
func BenchmarkExecuteParallel(b *testing.B) {
	e := newEngine(b, hooks.Options{})
	mustRegister(b, e, "t", hooks.Func(trivial))
	c := hooks.Call{AppPath: "t", Action: "echo", Args: []etf.Term{int64(1000)}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.Execute(context.Background(), c)
		}
	})
}

// BenchmarkExecuteLimited adds a WithLimit slot to each call.
func BenchmarkExecuteLimited(b *testing.B) {
	e := newEngine(b, hooks.Options{})
	mustRegister(b, e, "t", hooks.Func(trivial), hooks.WithLimit(64, 64))
	benchExecute(b, context.Background(), e)
}

// BenchmarkExecuteDeadline runs the handler on its own goroutine, as for any ctx that can be done.
func BenchmarkExecuteDeadline(b *testing.B) {
	e := newEngine(b, hooks.Options{})
	mustRegister(b, e, "t", hooks.Func(trivial))
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	benchExecute(b, ctx, e)
}

// BenchmarkExecuteInterceptor adds one node-level and one per-call interceptor.
func BenchmarkExecuteInterceptor(b *testing.B) {
	e := newEngine(b, hooks.Options{})
	mustRegister(b, e, "t", hooks.Func(trivial))
	pass := hooks.Interceptor{
		OnCallStart: func(context.Context, *hooks.Call) (etf.Term, bool, error) { return nil, false, nil },
		OnCallEnd:   func(_ context.Context, _ *hooks.Call, v etf.Term) (etf.Term, error) { return v, nil },
	}
	e.Use(pass)
	benchExecute(b, context.Background(), e, pass)
}

// BenchmarkExecuteStruct calls a struct method with one converted argument.
func BenchmarkExecuteStruct(b *testing.B) {
	e := newEngine(b, hooks.Options{})
	h, _ := hooks.Struct(Service{prefix: "v:"})
	mustRegister(b, e, "t", h)
	c := hooks.Call{AppPath: "t", Action: "similarity", Args: []etf.Term{[]byte("a"), []byte("b")}}
	b.ReportAllocs()
	for range b.N {
		if _, err := e.Execute(context.Background(), c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamChunk is the cost per chunk of a Go iterator stream, with the default window.
func BenchmarkStreamChunk(b *testing.B) {
	e := newEngine(b, hooks.Options{})
	mustRegister(b, e, "t", hooks.Func(func(ctx context.Context, _ string, _ []etf.Term, _ etf.Map) (any, error) {
		return iter.Seq[any](func(yield func(any) bool) {
			for i := int64(1000); yield(i); i++ {
			}
		}), nil
	}))
	s, err := e.Stream(context.Background(), hooks.Call{AppPath: "t", Action: "count"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := s.Next(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamOpen is the cost of opening, draining and closing a one-chunk stream.
func BenchmarkStreamOpen(b *testing.B) {
	e := newEngine(b, hooks.Options{})
	mustRegister(b, e, "t", hooks.Func(trivial))
	c := hooks.Call{AppPath: "t", Action: "echo", Args: []etf.Term{int64(1000)}}
	b.ReportAllocs()
	for range b.N {
		s, err := e.Stream(context.Background(), c)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := s.Next(context.Background()); err == io.EOF {
				break
			}
		}
		s.Close()
	}
}

// BenchmarkAsyncPending100k measures the memory held by 100,000 async tasks
// that have not finished (at most MaxAsync of them running, the rest queued),
// heap and goroutine stacks together, reported as MB/100k, and then the memory
// held by their 100,000 results until the TTL reclaims them (MB/100k-finished).
func BenchmarkAsyncPending100k(b *testing.B) {
	const n = 100_000
	for range b.N {
		e := hooks.New(hooks.Options{})
		release := make(chan struct{})
		mustRegister(b, e, "t", hooks.Func(func(ctx context.Context, _ string, args []etf.Term, _ etf.Map) (any, error) {
			<-release
			return args[0], nil
		}))
		c := hooks.Call{AppPath: "t", Action: "x", Args: []etf.Term{int64(1000)}}
		before := memInUse()
		ids := make([]hooks.TaskID, n)
		for i := range ids {
			ids[i], _ = e.ExecuteAsync(c)
		}
		after := memInUse()
		b.ReportMetric(float64(after-before)/1e6, "MB/100k")
		close(release)
		for _, id := range ids {
			if _, err := e.AwaitResult(context.Background(), id, time.Minute); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(memInUse()-before)/1e6, "MB/100k-finished")
		e.Close()
	}
}

func memInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse
}
