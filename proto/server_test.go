package proto

import (
	"context"
	"iter"
	"sync"
	"testing"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
)

// fakeTransport records what a Server sends and which monitors it asks for.
type fakeTransport struct {
	ctx  context.Context
	msgs chan etf.Term

	mu        sync.Mutex
	refs      int
	watched   []etf.Ref
	unwatched []etf.Ref
}

func newFakeTransport(t *testing.T) *fakeTransport {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &fakeTransport{ctx: ctx, msgs: make(chan etf.Term, 1024)}
}

func (f *fakeTransport) Send(_ etf.Pid, msg etf.Term) error { f.msgs <- msg; return nil }

func (f *fakeTransport) Monitor(etf.Pid) etf.Ref {
	f.refs++
	return etf.Ref{Node: "t@h", ID: [5]uint32{uint32(f.refs)}}
}

func (f *fakeTransport) Watch(_ etf.Pid, ref etf.Ref) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.watched = append(f.watched, ref)
}

func (f *fakeTransport) Demonitor(_ etf.Pid, ref etf.Ref) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unwatched = append(f.unwatched, ref)
}

func (f *fakeTransport) Context() context.Context { return f.ctx }

// next returns the next message sent, failing after a few seconds.
func (f *fakeTransport) next(t *testing.T) etf.Term {
	t.Helper()
	select {
	case m := <-f.msgs:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5s")
		return nil
	}
}

var refSeq int

func testServer(t *testing.T) (*Server, *hooks.Engine) {
	t.Helper()
	e := hooks.New(hooks.Options{})
	t.Cleanup(func() { _ = e.Close() })
	err := e.Register("t", hooks.Func(func(ctx context.Context, action string, args []etf.Term, _ etf.Map) (any, error) {
		switch action {
		case "echo":
			return args[0], nil
		case "count":
			n, _ := etf.Int(args[0])
			return iter.Seq[any](func(yield func(any) bool) {
				for i := range n {
					if !yield(int64(i)) {
						return
					}
				}
			}), nil
		case "block":
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return nil, hooks.UnknownAction(action)
	}))
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(Options{Engine: e, Node: "me@h", MakeRef: func() etf.Ref {
		refSeq++
		return etf.Ref{Node: "me@h", ID: [5]uint32{uint32(refSeq)}}
	}})
	t.Cleanup(s.Wait)
	return s, e
}

func TestServerReplies(t *testing.T) {
	s, _ := testServer(t)
	cl := Caller{Pid: etf.Pid{Node: "c@h", ID: 1}, T: newFakeTransport(t)}
	tests := []struct {
		name string
		req  etf.Term
		want etf.Term
	}{
		{"execute", etf.Tuple{AtomExecute, []byte("t"), []byte("echo"), etf.List{int64(7)}, etf.Map{}}, etf.Tuple{AtomOK, int64(7)}},
		{"find", etf.Tuple{AtomFind, []byte("t")}, etf.Tuple{AtomOK, InfoTerm(hooks.Info{AppPath: "t", Kind: "go"})}},
		{"bad request", etf.Atom("what"), BadRequest(etf.Atom("what"))},
		{"reg with no Register", etf.Tuple{AtomReg, []byte("x"), etf.Tuple{AtomErlang, etf.Pid{Node: "e@h"}}},
			BadRequest(etf.Tuple{AtomReg, []byte("x"), etf.Tuple{AtomErlang, etf.Pid{Node: "e@h"}}})},
		{"cancel unknown", etf.Tuple{AtomCancel, []byte("nope")},
			etf.Tuple{AtomError, etf.Tuple{etf.Atom("task_not_found"), []byte("nope")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, then := s.Handle(context.Background(), cl, tt.req)
			if then != nil || !etf.Equal(got, tt.want) {
				t.Fatalf("got %v; want %v", got, tt.want)
			}
		})
	}
}

func TestServerReleasesTasksOfACallerThatGoes(t *testing.T) {
	s, _ := testServer(t)
	tr := newFakeTransport(t)
	cl := Caller{Pid: etf.Pid{Node: "c@h", ID: 1}, T: tr}
	reply, _ := s.Handle(context.Background(), cl, etf.Tuple{AtomExecuteAsync, []byte("t"), []byte("block"), etf.List{}, etf.Map{}})
	id := reply.(etf.Tuple)[1]
	if len(tr.watched) != 1 {
		t.Fatalf("monitors: got %v; want 1", len(tr.watched))
	}
	if !s.Down(tr.watched[0]) {
		t.Fatal("Down: got false; want true")
	}
	got, _ := s.Handle(context.Background(), cl, etf.Tuple{AtomAwaitResult, id, int64(1000)})
	want := etf.Tuple{AtomError, etf.Tuple{etf.Atom("task_not_found"), id}}
	if !etf.Equal(got, want) {
		t.Fatalf("got %v; want %v", got, want)
	}
	if s.Down(tr.watched[0]) {
		t.Fatal("second Down: got true; want false")
	}
}

func TestServerStreamsWithinCredit(t *testing.T) {
	s, _ := testServer(t)
	tr := newFakeTransport(t)
	cl := Caller{Pid: etf.Pid{Node: "c@h", ID: 1}, T: tr}
	reply, then := s.Handle(context.Background(), cl, etf.Tuple{AtomStream, []byte("t"), []byte("count"), etf.List{int64(20)},
		etf.Map{}, etf.Map{{Key: AtomWindow, Value: int64(4)}}})
	ref := reply.(etf.Tuple)[1].(etf.Ref)
	then()
	var got []etf.Term
	unacked := 0
	for {
		m := tr.next(t).(etf.Tuple)
		if m[0] != AtomHornbeamStream || m[1] != ref {
			t.Fatalf("got %v; want a message of stream %v", m, ref)
		}
		if m[2] == AtomDone {
			break
		}
		msg := m[2].(etf.Tuple)
		chunks := etf.List{msg[1]}
		if msg[0] == AtomChunks {
			chunks = msg[1].(etf.List)
		}
		got = append(got, chunks...)
		if unacked += len(chunks); unacked > 4 {
			t.Fatalf("unacked chunks: got %d; want 4 at most", unacked)
		}
		if unacked >= 2 {
			if !s.Steer(etf.Tuple{AtomStreamCredit, ref, int64(unacked)}) {
				t.Fatal("Steer credit: got false; want true")
			}
			unacked = 0
		}
	}
	if len(got) != 20 {
		t.Fatalf("chunks: got %d; want 20", len(got))
	}
	s.Wait()
	if len(tr.unwatched) != 1 {
		t.Fatalf("demonitors after the end: got %d; want 1", len(tr.unwatched))
	}
}

func TestServerGoneClosesStreams(t *testing.T) {
	s, _ := testServer(t)
	tr := newFakeTransport(t)
	cl := Caller{Pid: etf.Pid{Node: "c@h", ID: 1}, T: tr}
	_, then := s.Handle(context.Background(), cl, etf.Tuple{AtomStream, []byte("t"), []byte("count"), etf.List{int64(1 << 30)},
		etf.Map{}, etf.Map{{Key: AtomWindow, Value: int64(1)}}})
	then()
	tr.next(t)
	s.Gone(tr)
	s.Wait()
}

func TestRefillGrantsHalfAWindow(t *testing.T) {
	r := Refill{Window: 8}
	var grants []int
	for range 10 {
		if g := r.Took(false); g > 0 {
			grants = append(grants, g)
		}
	}
	if len(grants) != 2 || grants[0] != 4 || grants[1] != 4 {
		t.Fatalf("got %v; want [4 4]", grants)
	}
	if g := (&Refill{Window: 1}).Took(true); g != 0 {
		t.Fatalf("ended: got %d; want 0", g)
	}
}

func TestCreditWaits(t *testing.T) {
	c := NewCredit(0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if c.Wait(ctx) {
		t.Fatal("no credit: got true; want false")
	}
	c.Grant(1)
	if !c.Wait(context.Background()) {
		t.Fatal("granted: got false; want true")
	}
}

func TestAppendStreamMsg(t *testing.T) {
	tests := []struct {
		name   string
		msg    etf.Term
		chunks int
		end    bool
		ok     bool
	}{
		{"chunk", etf.Tuple{AtomChunk, int64(1)}, 2, false, true},
		{"chunks", etf.Tuple{AtomChunks, etf.List{int64(1), int64(2)}}, 3, false, true},
		{"done", AtomDone, 1, true, true},
		{"error", etf.Tuple{AtomError, etf.Atom("boom")}, 1, true, true},
		{"chunks not a list", etf.Tuple{AtomChunks, int64(1)}, 1, false, false},
		{"other", etf.Atom("what"), 1, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks, end, ok := AppendStreamMsg([]etf.Term{int64(0)}, tt.msg)
			if len(chunks) != tt.chunks || (end != nil) != tt.end || ok != tt.ok {
				t.Fatalf("got %v, %v, %v; want %d chunks, end %v, ok %v", chunks, end, ok, tt.chunks, tt.end, tt.ok)
			}
		})
	}
}

// deferHandler answers deferred calls with {ok, Args} from a goroutine of its own.
type deferHandler struct{}

func (deferHandler) Execute(context.Context, hooks.Call) (etf.Term, error) {
	return etf.Atom("sync"), nil
}

func (deferHandler) Stream(context.Context, hooks.Call) (hooks.Stream, error) {
	return nil, hooks.UnknownAction("stream")
}

func (deferHandler) ExecuteDeferred(call hooks.Call, done func(etf.Term, error)) (func(), bool) {
	go done(etf.List(call.Args), nil)
	return func() {}, true
}

func TestServerHandleDeferred(t *testing.T) {
	s, e := testServer(t)
	if err := e.Register("d", deferHandler{}); err != nil {
		t.Fatal(err)
	}
	cl := Caller{Pid: etf.Pid{Node: "c@h", ID: 1}, T: newFakeTransport(t)}
	tests := []struct {
		name     string
		req      etf.Term
		deferred bool
		want     etf.Term
	}{
		{"deferred", etf.Tuple{AtomExecute, []byte("d"), []byte("x"), etf.List{int64(1)}, etf.Map{}}, true,
			etf.Tuple{AtomOK, etf.List{int64(1)}}},
		{"with timeout", etf.Tuple{AtomExecute, []byte("d"), []byte("x"), etf.List{int64(2)}, etf.Map{}, etf.Map{{Key: AtomTimeout, Value: int64(1000)}}},
			true, etf.Tuple{AtomOK, etf.List{int64(2)}}},
		{"async", etf.Tuple{AtomExecuteAsync, []byte("t"), []byte("echo"), etf.List{int64(1)}, etf.Map{}}, false, nil},
		{"go hook", etf.Tuple{AtomExecute, []byte("t"), []byte("echo"), etf.List{int64(7)}, etf.Map{}}, false,
			etf.Tuple{AtomOK, int64(7)}},
		{"bad request", etf.Atom("what"), false, BadRequest(etf.Atom("what"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sent := make(chan etf.Term, 1)
			got, _, deferred := s.HandleDeferred(context.Background(), cl, tt.req, func(r etf.Term) { sent <- r })
			if deferred != tt.deferred {
				t.Fatalf("got deferred %v; want %v", deferred, tt.deferred)
			}
			if deferred {
				select {
				case got = <-sent:
				case <-time.After(5 * time.Second):
					t.Fatal("no deferred reply within 5s")
				}
			}
			if tt.want != nil && !etf.Equal(got, tt.want) {
				t.Fatalf("got %v; want %v", got, tt.want)
			}
		})
	}
}
