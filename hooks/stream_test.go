package hooks_test

import (
	"context"
	"errors"
	"io"
	"iter"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
)

// collect reads s to its end and returns the chunks and the final error (nil for io.EOF).
func collect(t testing.TB, s hooks.Stream) ([]etf.Term, error) {
	t.Helper()
	defer s.Close()
	var got []etf.Term
	for {
		v, err := s.Next(context.Background())
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = append(got, v)
	}
}

func streamer(ctx context.Context, action string, args []etf.Term, _ etf.Map) (any, error) {
	switch action {
	case "seq":
		return iter.Seq[any](func(yield func(any) bool) {
			for i := range 3 {
				if !yield(i) {
					return
				}
			}
		}), nil
	case "seq2_error":
		return iter.Seq2[any, error](func(yield func(any, error) bool) {
			if yield(int64(1), nil) {
				yield(nil, errors.New("broken pipe"))
			}
		}), nil
	case "error_chunk":
		return func(yield func(any) bool) {
			_ = yield(etf.Tuple{etf.Atom("ok"), int64(1)}) &&
				yield(etf.Tuple{etf.Atom("error"), etf.Atom("mid")}) &&
				yield(int64(3))
		}, nil
	case "value":
		return []byte("one"), nil
	case "error_value":
		return etf.Tuple{etf.Atom("error"), etf.Atom("nope")}, nil
	case "panic":
		return iter.Seq[any](func(yield func(any) bool) {
			yield(int64(1))
			panic("producer")
		}), nil
	case "fail":
		return nil, errors.New("cannot start")
	case "bad_chunk":
		return iter.Seq[any](func(yield func(any) bool) { yield(make(chan int)) }), nil
	}
	return nil, hooks.UnknownAction(action)
}

func TestStreamResults(t *testing.T) {
	e := newEngine(t, hooks.Options{})
	mustRegister(t, e, "s", hooks.Func(streamer))
	tests := []struct {
		action string
		chunks []etf.Term
		err    etf.Term // reason of the final error
		open   bool     // the error comes from Stream itself
	}{
		{"seq", []etf.Term{int64(0), int64(1), int64(2)}, nil, false},
		{"seq2_error", []etf.Term{int64(1)}, tuple(etf.Atom("go"), []byte("broken pipe")), false},
		{"error_chunk", []etf.Term{int64(1)}, etf.Atom("mid"), false},
		{"value", []etf.Term{[]byte("one")}, nil, false},
		{"error_value", nil, etf.Atom("nope"), false},
		{"panic", []etf.Term{int64(1)}, tuple(etf.Atom("panic"), []byte("producer")), false},
		{"fail", nil, tuple(etf.Atom("go"), []byte("cannot start")), true},
		{"unknown", nil, tuple(etf.Atom("unknown_action"), []byte("unknown")), true},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			s, err := e.Stream(context.Background(), call("s", tt.action))
			if tt.open {
				if s != nil || !reflect.DeepEqual(hooks.ReasonOf(err), tt.err) {
					t.Errorf("Stream = %v, %v; want error %v", s, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Stream = %v", err)
			}
			got, err := collect(t, s)
			if !reflect.DeepEqual(got, tt.chunks) || !reflect.DeepEqual(hooks.ReasonOf(err), tt.err) {
				t.Errorf("chunks = %v, %v; want %v, %v", got, hooks.ReasonOf(err), tt.chunks, tt.err)
			}
			if _, err2 := s.Next(context.Background()); tt.err != nil && err2 != err || tt.err == nil && err2 != io.EOF {
				t.Errorf("Next after the end = %v; want %v again", err2, err)
			}
		})
	}
	if _, err := e.Stream(context.Background(), call("nowhere", "x")); !errors.Is(err, hooks.ErrNotFound) {
		t.Errorf("Stream(unknown path) = %v; want not_found", err)
	}
	s, _ := e.Stream(context.Background(), call("s", "bad_chunk"))
	if _, err := collect(t, s); !errors.Is(err, hooks.ErrGo) {
		t.Errorf("a chunk ToTerm cannot convert = %v; want a go error", err)
	}
}

func TestStreamWindow(t *testing.T) {
	for _, window := range []int{1, 4} {
		e := newEngine(t, hooks.Options{Window: window})
		var produced atomic.Int64
		mustRegister(t, e, "count", hooks.Func(func(ctx context.Context, _ string, _ []etf.Term, _ etf.Map) (any, error) {
			return iter.Seq[any](func(yield func(any) bool) {
				for i := int64(0); i < 20; i++ {
					produced.Add(1)
					if !yield(i) {
						return
					}
				}
			}), nil
		}))
		s, err := e.Stream(context.Background(), call("count", "x"))
		if err != nil {
			t.Fatal(err)
		}
		for consumed := int64(0); consumed < 20; consumed++ {
			time.Sleep(2 * time.Millisecond)
			if ahead := produced.Load() - consumed; ahead > int64(window) {
				t.Fatalf("window %d: producer is %d chunks ahead", window, ahead)
			}
			if v, err := s.Next(context.Background()); v != consumed || err != nil {
				t.Fatalf("Next = %v, %v; want %d", v, err, consumed)
			}
		}
		if _, err := s.Next(context.Background()); err != io.EOF {
			t.Errorf("Next at the end = %v; want io.EOF", err)
		}
		s.Close()
	}
}

func TestStreamEarlyClose(t *testing.T) {
	e := newEngine(t, hooks.Options{Window: 2})
	exited := make(chan error, 1)
	mustRegister(t, e, "inf", hooks.Func(func(ctx context.Context, _ string, _ []etf.Term, _ etf.Map) (any, error) {
		return iter.Seq[any](func(yield func(any) bool) {
			defer func() { exited <- ctx.Err() }()
			for i := int64(0); yield(i); i++ {
			}
		}), nil
	}))
	s, err := e.Stream(context.Background(), call("inf", "x"))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if st, _ := e.Stats("inf"); st.InFlight != 1 {
		t.Errorf("InFlight with an open stream = %d; want 1", st.InFlight)
	}
	s.Close()
	select {
	case err := <-exited:
		if err == nil {
			t.Errorf("producer's context not cancelled by Close")
		}
	default:
		t.Errorf("producer still running after Close returned")
	}
	if _, err := s.Next(context.Background()); !errors.Is(err, hooks.ErrCancelled) {
		t.Errorf("Next after Close = %v; want cancelled", err)
	}
	if st, _ := e.Stats("inf"); st.InFlight != 0 || st.Errors != 0 {
		t.Errorf("Stats after Close = %+v; want nothing in flight, no error", st)
	}
	s.Close()
}

func TestStreamNextDeadline(t *testing.T) {
	e := newEngine(t, hooks.Options{})
	next := make(chan struct{})
	mustRegister(t, e, "slow", hooks.Func(func(ctx context.Context, _ string, _ []etf.Term, _ etf.Map) (any, error) {
		return iter.Seq[any](func(yield func(any) bool) {
			<-next
			yield(int64(1))
		}), nil
	}))
	s, _ := e.Stream(context.Background(), call("slow", "x"))
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := s.Next(ctx); !errors.Is(err, hooks.ErrTimeout) {
		t.Errorf("Next past its deadline = %v; want timeout", err)
	}
	close(next)
	if v, err := s.Next(context.Background()); v != int64(1) || err != nil {
		t.Errorf("Next after a timed-out Next = %v, %v; want 1", v, err)
	}
}

func TestStreamEngineClose(t *testing.T) {
	e := hooks.New(hooks.Options{})
	mustRegister(t, e, "inf", hooks.Func(func(ctx context.Context, _ string, _ []etf.Term, _ etf.Map) (any, error) {
		return iter.Seq[any](func(yield func(any) bool) {
			for i := int64(0); yield(i); i++ {
			}
		}), nil
	}))
	s, err := e.Stream(context.Background(), call("inf", "x"))
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	for {
		if _, err := s.Next(context.Background()); err != nil {
			if !errors.Is(err, hooks.ErrClosed) {
				t.Errorf("Next after Engine.Close = %v; want closed", err)
			}
			break
		}
	}
	s.Close()
}

// remote is a Handler like the ones transports implement: no Go iterator,
// its own Stream.
type remote struct{ window chan int }

func (remote) Execute(_ context.Context, call hooks.Call) (etf.Term, error) {
	return etf.Tuple{etf.Atom("ok"), etf.List(call.Args)}, nil
}

func (r remote) Stream(_ context.Context, call hooks.Call) (hooks.Stream, error) {
	r.window <- call.Window
	return &sliceStream{chunks: call.Args}, nil
}

func (remote) Describe() (string, etf.Term) { return "python", etf.Atom("worker1") }

type sliceStream struct{ chunks []etf.Term }

func (s *sliceStream) Next(context.Context) (etf.Term, error) {
	if len(s.chunks) == 0 {
		return nil, io.EOF
	}
	v := s.chunks[0]
	s.chunks = s.chunks[1:]
	return v, nil
}

func (s *sliceStream) Close() error { return nil }

func TestRemoteHandler(t *testing.T) {
	e := newEngine(t, hooks.Options{Window: 8})
	r := remote{window: make(chan int, 2)}
	mustRegister(t, e, "py", r)
	if v, err := e.Execute(context.Background(), call("py", "x", int64(1))); !reflect.DeepEqual(v, etf.List{int64(1)}) || err != nil {
		t.Errorf("Execute = %v, %v; want [1]", v, err)
	}
	s, err := e.Stream(context.Background(), call("py", "x", int64(1), etf.Tuple{etf.Atom("ok"), int64(2)}, etf.Tuple{etf.Atom("error"), etf.Atom("r")}))
	if err != nil {
		t.Fatal(err)
	}
	got, err := collect(t, s)
	if !reflect.DeepEqual(got, []etf.Term{int64(1), int64(2)}) || !reflect.DeepEqual(hooks.ReasonOf(err), etf.Atom("r")) {
		t.Errorf("stream = %v, %v; want [1 2], r", got, err)
	}
	if w := <-r.window; w != 8 {
		t.Errorf("handler saw window %d; want Options.Window 8", w)
	}
	c := call("py", "x")
	c.Window = 3
	s, _ = e.Stream(context.Background(), c)
	s.Close()
	if w := <-r.window; w != 3 {
		t.Errorf("handler saw window %d; want the call's 3", w)
	}
}

// nilStream is a broken remote handler whose Stream returns nothing at all.
type nilStream struct{ remote }

func (nilStream) Stream(context.Context, hooks.Call) (hooks.Stream, error) { return nil, nil }

func TestStreamNilFromHandler(t *testing.T) {
	e := newEngine(t, hooks.Options{})
	mustRegister(t, e, "broken", nilStream{})
	if _, err := e.Stream(context.Background(), call("broken", "x")); !errors.Is(err, hooks.ErrGo) {
		t.Errorf("Stream on a handler returning nil, nil = %v; want a go error", err)
	}
	if s, _ := e.Stats("broken"); s.InFlight != 0 || s.Errors != 1 {
		t.Errorf("Stats = %+v; want no slot held, one error", s)
	}
}
