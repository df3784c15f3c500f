package python

import (
	"bytes"
	"testing"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
	"github.com/hornbeam-go/hornbeam/internal/rawio"
	"github.com/hornbeam-go/hornbeam/proto"
)

// appendRequest writes the bytes etf.Encode writes for the request tuple, which it does not build.
func TestAppendRequestEncodesTheTuple(t *testing.T) {
	kwargs := etf.Map{{Key: []byte("k"), Value: 2.5}}
	tests := []struct {
		name  string
		op    etf.Atom
		id    int64
		call  hooks.Call
		extra []etf.Term
		want  etf.Tuple
	}{
		{name: "no_args", op: proto.AtomCall, id: 1, call: hooks.Call{AppPath: "py.a", Action: "go"},
			want: etf.Tuple{proto.AtomCall, int64(1), "py.a", "go", etf.List{}, etf.Map{}}},
		{name: "args_kwargs", op: proto.AtomCall, id: 1 << 40,
			call: hooks.Call{AppPath: "py.a", Action: "go", Args: []etf.Term{[]byte("x"), int64(300)}, Kwargs: kwargs},
			want: etf.Tuple{proto.AtomCall, int64(1 << 40), "py.a", "go", etf.List{[]byte("x"), int64(300)}, kwargs}},
		{name: "stream_window", op: proto.AtomStream, id: 7, call: hooks.Call{AppPath: "py.a", Action: "s"},
			extra: []etf.Term{int64(64)},
			want:  etf.Tuple{proto.AtomStream, int64(7), "py.a", "s", etf.List{}, etf.Map{}, int64(64)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := etf.Encode(tt.want)
			if err != nil {
				t.Fatal(err)
			}
			got, err := appendRequest([]byte("head"), tt.op, tt.id, tt.call, tt.extra...)
			if err != nil || !bytes.Equal(got, append([]byte("head"), want...)) {
				t.Errorf("got %v, %v; want %v", got, err, want)
			}
		})
	}
}

// A call whose arguments do not encode leaves the buffer as it was.
func TestAppendRequestError(t *testing.T) {
	got, err := appendRequest([]byte("head"), proto.AtomCall, 1, hooks.Call{AppPath: "p", Action: "a", Args: []etf.Term{make(chan int)}})
	if err == nil || string(got) != "head" {
		t.Errorf("got %q, %v; want head and an error", got, err)
	}
}

// A link is idle (its reader polls briefly) only with no call in flight and after a frame that is not a request
// of the process's own.
func TestMarkIdle(t *testing.T) {
	reply := etf.Tuple{proto.AtomReply, int64(1), etf.Tuple{proto.AtomOK, int64(2)}}
	execute := etf.Tuple{proto.AtomExecute, int64(3), []byte("go.echo"), []byte("echo"), etf.List{}, etf.Map{}}
	tests := []struct {
		name  string
		busy  int64
		frame etf.Term
		want  bool
	}{
		{"reply, nothing in flight", 0, reply, true},
		{"reply, a call in flight", 1, reply, false},
		{"request of its own", 0, execute, false},
		{"not a tuple", 0, etf.Atom("ready"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &link{load: &rawio.Load{}}
			l.busy.Store(tt.busy)
			l.markIdle(tt.frame)
			if got := l.load.Idle.Load(); got != tt.want {
				t.Errorf("Idle = %v; want %v", got, tt.want)
			}
		})
	}
}
