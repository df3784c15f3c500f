package proto

import (
	"math/big"
	"reflect"
	"testing"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
)

func TestParse(t *testing.T) {
	call := func(op etf.Atom, extra ...etf.Term) etf.Tuple {
		return append(etf.Tuple{op, []byte("app"), []byte("act"), etf.List{int64(1)}, etf.Map{}}, extra...)
	}
	opts := func(k etf.Atom, v etf.Term) etf.Map { return etf.Map{{Key: k, Value: v}} }
	server := etf.Pid{Node: "e@h", ID: 1}
	tests := []struct {
		name string
		req  etf.Term
		ok   bool
		want Request
	}{
		{"execute", call(AtomExecute), true, Request{Op: AtomExecute, Window: hooks.DefaultWindow}},
		{"execute timeout", call(AtomExecute, opts(AtomTimeout, int64(50))), true,
			Request{Op: AtomExecute, Window: hooks.DefaultWindow, Timeout: 50 * time.Millisecond}},
		{"execute bad timeout", call(AtomExecute, opts(AtomTimeout, int64(0))), false, Request{}},
		{"execute opts not a map", call(AtomExecute, etf.List{}), false, Request{}},
		{"execute other opts ignored", call(AtomExecute, opts("x", "y")), true, Request{Op: AtomExecute, Window: hooks.DefaultWindow}},
		{"execute_async", call(AtomExecuteAsync), true, Request{Op: AtomExecuteAsync, Window: hooks.DefaultWindow}},
		{"execute_async with opts", call(AtomExecuteAsync, etf.Map{}), false, Request{}},
		{"stream window", call(AtomStream, opts(AtomWindow, int64(8))), true, Request{Op: AtomStream, Window: 8}},
		{"stream bad window", call(AtomStream, opts(AtomWindow, etf.Atom("x"))), false, Request{}},
		{"await", etf.Tuple{AtomAwaitResult, []byte("t"), int64(10)}, true,
			Request{Op: AtomAwaitResult, Task: "t", Timeout: 10 * time.Millisecond}},
		{"await infinity", etf.Tuple{AtomAwaitResult, []byte("t"), AtomInfinity}, true,
			Request{Op: AtomAwaitResult, Task: "t", Timeout: -1}},
		{"await big timeout", etf.Tuple{AtomAwaitResult, []byte("t"), big.NewInt(10)}, true,
			Request{Op: AtomAwaitResult, Task: "t", Timeout: 10 * time.Millisecond}},
		{"await negative", etf.Tuple{AtomAwaitResult, []byte("t"), int64(-1)}, false, Request{}},
		{"await task not a binary", etf.Tuple{AtomAwaitResult, etf.Atom("t"), int64(1)}, false, Request{}},
		{"cancel", etf.Tuple{AtomCancel, []byte("t")}, true, Request{Op: AtomCancel, Task: "t"}},
		{"find", etf.Tuple{AtomFind, etf.Atom("app")}, true, Request{Op: AtomFind, AppPath: "app"}},
		{"unreg", etf.Tuple{AtomUnreg, []byte("app")}, true, Request{Op: AtomUnreg, AppPath: "app"}},
		{"reg", etf.Tuple{AtomReg, []byte("app"), etf.Tuple{AtomErlang, server}}, true,
			Request{Op: AtomReg, AppPath: "app", Server: server}},
		{"reg not erlang", etf.Tuple{AtomReg, []byte("app"), etf.Tuple{"python", server}}, false, Request{}},
		{"all", AtomAll, true, Request{Op: AtomAll}},
		{"all in a tuple", etf.Tuple{AtomAll, int64(1)}, false, Request{}},
		{"unknown op", etf.Tuple{etf.Atom("nope"), int64(1)}, false, Request{}},
		{"too short", etf.Tuple{AtomExecute}, false, Request{}},
		{"not a tuple", int64(1), false, Request{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Parse(tt.req)
			if ok != tt.ok {
				t.Fatalf("ok: got %v; want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			got.Term, got.Call = nil, hooks.Call{}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v; want %+v", got, tt.want)
			}
		})
	}
}
