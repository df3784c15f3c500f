package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
	"github.com/hornbeam-go/hornbeam/internal/hookstest"
	"github.com/stretchr/testify/require"
)

// echoServer is an erl script fragment that registers echo_srv, a process answering gen_server calls:
// {echoed, Req}, or for a few requests something else (see the cases).
const echoServer = `
	Echo = fun Loop() ->
		receive
			{'$gen_call', From, {die, Reason}} -> gen_server:reply(From, dying), exit(Reason);
			{'$gen_call', _, {die_silently, Reason}} -> exit(Reason);
			{'$gen_call', _, silent} -> Loop();
			{'$gen_call', _, halt} -> erlang:halt();
			{'$gen_call', From, worker} -> gen_server:reply(From, spawn(Loop)), Loop();
			{'$gen_call', From, Req} -> gen_server:reply(From, {echoed, Req}), Loop()
		end
	end,
	register(echo_srv, spawn(Echo))`

// requireKind fails unless err is a *hooks.Error of kind.
func requireKind(t *testing.T, err error, kind etf.Atom) *hooks.Error {
	t.Helper()
	var he *hooks.Error
	require.True(t, errors.As(err, &he), "got %v; want a *hooks.Error", err)
	require.Equal(t, kind, he.Kind, "got %v", err)
	return he
}

func TestCall(t *testing.T) {
	requireErl(t)
	n := startNode(t, hookstest.Engine(t))
	e := startErl(t, testCookie, n.Name(), `pong = net_adm:ping(Go), `+echoServer+`,
		io:format("ready~n"), receive after infinity -> ok end`)
	e.waitLine(t, "ready", 20*time.Second)
	peer := etf.Atom(e.name)
	srv := etf.Tuple{etf.Atom("echo_srv"), peer}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	got, err := n.Call(ctx, srv, etf.Tuple{etf.Atom("hi"), []byte("there")})
	require.NoError(t, err)
	require.True(t, etf.Equal(etf.Tuple{etf.Atom("echoed"), etf.Tuple{etf.Atom("hi"), []byte("there")}}, got), "got %v", got)

	apps, err := n.Call(ctx, etf.Tuple{etf.Atom("application_controller"), peer}, etf.Atom("which_applications"))
	require.NoError(t, err)
	require.Contains(t, fmt.Sprint(apps), "kernel")

	w, err := n.Call(ctx, srv, etf.Atom("worker"))
	require.NoError(t, err)
	worker, ok := w.(etf.Pid)
	require.True(t, ok, "got %v", w)
	got, err = n.Call(ctx, worker, int64(1))
	require.NoError(t, err)
	require.Equal(t, etf.Tuple{etf.Atom("echoed"), int64(1)}, got)

	t.Run("noproc at once", func(t *testing.T) {
		start := time.Now()
		_, err := n.Call(ctx, etf.Tuple{etf.Atom("nope"), peer}, etf.Atom("x"))
		he := requireKind(t, err, KindNoproc)
		require.Equal(t, etf.Tuple{etf.Atom("nope"), peer}, he.Detail)
		require.Less(t, time.Since(start), 2*time.Second)
	})
	t.Run("exit during the call", func(t *testing.T) {
		w, err := n.Call(ctx, srv, etf.Atom("worker"))
		require.NoError(t, err)
		_, err = n.Call(ctx, w, etf.Tuple{etf.Atom("die_silently"), etf.Atom("boom")})
		he := requireKind(t, err, KindExit)
		require.Equal(t, etf.Atom("boom"), he.Detail)
		_, err = n.Call(ctx, w, etf.Atom("x"))
		requireKind(t, err, KindNoproc)
	})
	t.Run("timeout", func(t *testing.T) {
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		_, err := n.Call(short, srv, etf.Atom("silent"))
		require.ErrorIs(t, err, hooks.ErrTimeout)
		got, err := n.Call(ctx, srv, etf.Atom("after"))
		require.NoError(t, err)
		require.Equal(t, etf.Tuple{etf.Atom("echoed"), etf.Atom("after")}, got)
	})
	t.Run("nodedown: no such node", func(t *testing.T) {
		start := time.Now()
		_, err := n.Call(ctx, etf.Tuple{etf.Atom("x"), etf.Atom(uniqueName("none"))}, etf.Atom("x"))
		requireKind(t, err, KindNodedown)
		require.Less(t, time.Since(start), 5*time.Second)
	})
	t.Run("bad target", func(t *testing.T) {
		_, err := n.Call(ctx, etf.Tuple{etf.Atom("x")}, etf.Atom("x"))
		requireKind(t, err, hooks.KindBadArg)
	})
	t.Run("rpc", func(t *testing.T) {
		got, err := n.RPC(ctx, e.name, "lists", "reverse", etf.List{etf.Atom("a"), etf.Atom("b")})
		require.NoError(t, err)
		require.Equal(t, etf.List{etf.Atom("b"), etf.Atom("a")}, got)
		got, err = n.RPC(ctx, e.name, "erlang", "node")
		require.NoError(t, err)
		require.Equal(t, peer, got)
		_, err = n.RPC(ctx, e.name, "nope", "f", int64(1))
		he := requireKind(t, err, KindBadrpc)
		require.Contains(t, fmt.Sprint(he.Detail), "undef")
		_, err = n.RPC(ctx, e.name, "erlang", "error", etf.Atom("boom"))
		requireKind(t, err, KindBadrpc)
	})
	t.Run("nodedown during the call", func(t *testing.T) {
		start := time.Now()
		_, err := n.Call(ctx, srv, etf.Atom("halt"))
		he := requireKind(t, err, KindNodedown)
		require.Equal(t, peer, he.Detail)
		require.Less(t, time.Since(start), 5*time.Second)
	})
}

func TestRPCConnects(t *testing.T) {
	requireErl(t)
	n := startNode(t, hookstest.Engine(t))
	e := startErl(t, testCookie, n.Name(), `io:format("ready~n"), receive after infinity -> ok end`)
	e.waitLine(t, "ready", 20*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := n.RPC(ctx, e.name, "erlang", "node")
	require.NoError(t, err)
	require.Equal(t, etf.Atom(e.name), got)
}

// hooksBeam compiles erlang/src into a directory for erl's code path, with the application file.
func hooksBeam(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src, err := filepath.Glob("../erlang/src/*.erl")
	require.NoError(t, err)
	out, err := exec.Command("erlc", append([]string{"-o", dir}, src...)...).CombinedOutput()
	require.NoError(t, err, "erlc: %s", out)
	app, err := os.ReadFile("../erlang/src/hornbeam_hooks.app.src")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hornbeam_hooks.app"), app, 0o644))
	return dir
}

// hooksReg is an erl script that loads hornbeam_hooks from dir, points it at the Go node and registers
// erl.echo, whose action echo returns its one argument.
func hooksReg(dir string) string {
	return fmt.Sprintf(`
		true = code:add_patha(%q),
		ok = application:load(hornbeam_hooks),
		ok = application:set_env(hornbeam_hooks, nodes, [Go]),
		pong = net_adm:ping(Go),
		ok = hornbeam_hooks:reg(<<"erl.echo">>, fun(<<"echo">>, [X], _) -> {ok, X} end)`, dir)
}

func TestExecuteErlangHook(t *testing.T) {
	requireErl(t)
	eng := hookstest.Engine(t)
	n := startNode(t, eng)
	e := startErl(t, testCookie, n.Name(), hooksReg(hooksBeam(t))+`,
		io:format("ready~n"), receive after infinity -> ok end`)
	e.waitLine(t, "ready", 20*time.Second)
	info, ok := eng.Find("erl.echo")
	require.True(t, ok)
	require.Equal(t, "erlang", info.Kind)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	arg := etf.Map{{Key: []byte("k"), Value: etf.List{int64(1), etf.Atom("two"), []byte("three")}}}
	got, err := eng.Execute(ctx, hooks.Call{AppPath: "erl.echo", Action: "echo", Args: []etf.Term{arg}})
	require.NoError(t, err)
	require.True(t, etf.Equal(arg, got), "got %v; want %v", got, arg)
}
