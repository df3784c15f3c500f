package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
	"github.com/hornbeam-go/hornbeam/internal/hookstest"
	"github.com/stretchr/testify/require"
)

func ExampleNode_ExposeHandler() {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	engine := hooks.New(hooks.Options{})
	defer engine.Close()
	server, err := Start(ctx, Options{Name: "example_server@localhost", Cookie: "example", Engine: engine, Logger: quiet})
	if err != nil {
		panic(err)
	}
	defer server.Stop()
	add := hooks.Func(func(_ context.Context, action string, args []etf.Term, _ etf.Map) (any, error) {
		a, _ := etf.Int(args[0])
		b, _ := etf.Int(args[1])
		return a + b, nil
	})
	if err := server.ExposeHandler("demo.adder", "adder", add); err != nil {
		panic(err)
	}

	// Another node, Go here, calls it as gen_server:call({adder, 'example_server@localhost'}, {add, 2, 3}).
	client, err := Start(ctx, Options{Name: "example_client@localhost", Cookie: "example", Engine: engine, Logger: quiet, NoPG: true})
	if err != nil {
		panic(err)
	}
	defer client.Stop()
	v, err := client.Call(ctx, etf.Tuple{etf.Atom("adder"), etf.Atom(server.Name())}, etf.Tuple{etf.Atom("add"), 2, 3})
	fmt.Println(v, err)
	// Output: 5 <nil>
}

func TestExpose(t *testing.T) {
	e := hookstest.Engine(t)
	n, caller := startNode(t, e), startNode(t, hookstest.Engine(t))
	call := func(name string, req etf.Term) etf.Term {
		t.Helper()
		v, err := caller.Call(context.Background(), etf.Tuple{etf.Atom(name), etf.Atom(n.Name())}, req)
		require.NoError(t, err)
		return v
	}
	require.NoError(t, n.Expose("echo", "echo_service"))
	require.NoError(t, n.Expose("later", "later_service"))

	tests := []struct {
		name    string
		service string
		req     etf.Term
		want    etf.Term
	}{
		{"call", "echo_service", etf.Tuple{etf.Atom("echo"), 7}, 7},
		{"binary action", "echo_service", etf.Tuple{[]byte("echo"), etf.Atom("x")}, etf.Atom("x")},
		{"bare action", "echo_service", etf.Atom("nope"), hooks.Reply(nil, hooks.UnknownAction("nope"))},
		{"empty tuple", "echo_service", etf.Tuple{}, etf.Atom("badarg")},
		{"action not atom or binary", "echo_service", etf.Tuple{1, 2}, etf.Atom("badarg")},
		{"not a tuple", "echo_service", etf.List{etf.Atom("echo")}, etf.Atom("badarg")},
		{"hook not registered", "later_service", etf.Atom("go"), hooks.Reply(nil, hooks.NotFound("later"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := call(tt.service, tt.req)
			if tt.want == etf.Atom("badarg") {
				got = hooks.FromReason(got.(etf.Tuple)[1]).Kind
			}
			if !etf.Equal(got, tt.want) {
				t.Errorf("got %v; want %v", got, tt.want)
			}
		})
	}

	require.NoError(t, e.Register("later", hooks.Func(echoAction)))
	require.Equal(t, etf.Term(int64(1)), call("later_service", etf.Tuple{etf.Atom("go"), 1}))
	require.True(t, e.Unregister("later"))
	require.Equal(t, hooks.Reply(nil, hooks.NotFound("later")), call("later_service", etf.Atom("go")))
}

func TestExposeTakenName(t *testing.T) {
	n := startNode(t, hookstest.Engine(t))
	require.NoError(t, n.Expose("echo", "mine"))
	for _, name := range []string{"mine", "hornbeam_hooks", "rex", "net_kernel", "global_name_server", DefaultPGScope, ""} {
		if err := n.Expose("echo", name); err == nil {
			t.Errorf("Expose(%q): got no error; want one", name)
		}
	}
	if err := n.ExposeHandler("other", "mine", hooks.Func(echoAction)); err == nil {
		t.Errorf("ExposeHandler on a taken name: got no error; want one")
	}
	if _, ok := n.opts.Engine.Find("other"); ok {
		t.Errorf("ExposeHandler on a taken name registered the hook")
	}
}
