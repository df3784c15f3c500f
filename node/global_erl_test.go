package node

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ergo-services/ergo/gen"
	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
	"github.com/hornbeam-go/hornbeam/internal/hookstest"
	"github.com/hornbeam-go/hornbeam/node/internal/dist"
	"github.com/stretchr/testify/require"
)

// A hang in global shows as a step that does not finish; each step below gets far less time than one would
// take (global:sync/0 waited 390 s before the node took part in global).
const globalStep = 15 * time.Second

// waitPrefix waits for a line of e's output that starts with prefix and returns the rest of it.
func (e *erl) waitPrefix(t *testing.T, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-e.lines:
			if !ok {
				t.Fatalf("erl exited before printing %q; output:\n%s", prefix, e.output())
			}
			if rest, ok := strings.CutPrefix(strings.TrimSpace(l), prefix); ok {
				return strings.TrimSpace(rest)
			}
		case <-deadline:
			t.Fatalf("erl did not print %q within %v; output:\n%s", prefix, timeout, e.output())
		}
	}
}

// waitMillis waits for "prefix N" and checks N, a duration in milliseconds, is at most limit.
func (e *erl) waitMillis(t *testing.T, prefix string, limit time.Duration) time.Duration {
	t.Helper()
	v := e.waitPrefix(t, prefix, globalStep)
	ms, err := strconv.Atoi(v)
	require.NoError(t, err, "%s %s", prefix, v)
	d := time.Duration(ms) * time.Millisecond
	require.LessOrEqual(t, d, limit, "%s took %v; output:\n%s", prefix, d, e.output())
	t.Logf("%s: %v", prefix, d)
	return d
}

// The Erlang side of the cluster tests: A connects to the Go node, B only to A, and global does the rest.
const (
	// globalA runs on the first BEAM node: it pings the Go node, syncs, registers a_name, then syncs again
	// once a second node has joined and prints what it sees.
	globalA = `
		Ms = fun() -> erlang:monotonic_time(millisecond) end,
		Wait = fun W(F, 0) -> F(); W(F, N) -> case F() of true -> true; false -> timer:sleep(20), W(F, N - 1) end end,
		pong = net_adm:ping(Go),
		T0 = Ms(), ok = global:sync(), io:format("a_sync ~p~n", [Ms() - T0]),
		yes = global:register_name(a_name, self()),
		io:format("a_registered~n"),
		true = Wait(fun() -> length(nodes()) >= 2 end, 500),
		T1 = Ms(), ok = global:sync(), io:format("a_sync2 ~p~n", [Ms() - T1]),
		true = Wait(fun() -> global:whereis_name(b_name) =/= undefined end, 500),
		io:format("a_where_go ~p~n", [node(global:whereis_name(go_name))]),
		io:format("a_trans ~p~n", [global:trans({a_res, self()}, fun() -> in_trans end, [node() | nodes()], 3)]),
		io:format("a_done~n"),
		receive stop -> ok end`

	// globalB runs on the second BEAM node, which knows only A's name (bound to A).
	globalB = `
		Ms = fun() -> erlang:monotonic_time(millisecond) end,
		Wait = fun W(F, 0) -> F(); W(F, N) -> case F() of true -> true; false -> timer:sleep(20), W(F, N - 1) end end,
		T0 = Ms(), pong = net_adm:ping(A), ok = global:sync(), io:format("b_sync ~p~n", [Ms() - T0]),
		true = Wait(fun() -> lists:member(Go, nodes()) end, 250),
		io:format("b_sees_go ~p~n", [Ms() - T0]),
		T1 = Ms(), ok = global:sync(), io:format("b_sync2 ~p~n", [Ms() - T1]),
		io:format("b_where_a ~p~n", [node(global:whereis_name(a_name))]),
		true = Wait(fun() -> global:whereis_name(go_name) =/= undefined end, 250),
		io:format("b_where_go ~p~n", [node(global:whereis_name(go_name))]),
		io:format("b_trans ~p~n", [global:trans({b_res, self()}, fun() -> in_trans end, [node() | nodes()], 3)]),
		io:format("b_set_lock ~p~n", [global:set_lock({b_lock, self()}, [node() | nodes()], 3)]),
		io:format("b_del_lock ~p~n", [global:del_lock({b_lock, self()}, [node() | nodes()])]),
		yes = global:register_name(b_name, self()),
		io:format("b_registered~n"),
		receive stop -> ok end`
)

// startGlobalCluster starts two BEAM nodes around n as globalA and globalB describe, checks each step, and
// returns them.
func startGlobalCluster(t *testing.T, n *Node) (a, b *erl) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), globalStep)
	defer cancel()
	a = startErl(t, testCookie, n.Name(), globalA)
	a.waitMillis(t, "a_sync", time.Second)
	a.waitLine(t, "a_registered", globalStep)
	pid, ok, err := n.WhereisGlobal(ctx, etf.Atom("a_name"))
	require.NoError(t, err)
	require.True(t, ok, "a_name is not registered on the Go node")
	require.Equal(t, etf.Atom(a.name), pid.Node)

	yes, err := n.RegisterGlobal(ctx, etf.Atom("go_name"), n.HooksPid())
	require.NoError(t, err)
	require.True(t, yes)

	b = startErl(t, testCookie, n.Name(), fmt.Sprintf("A = '%s', %s", a.name, globalB))
	b.waitMillis(t, "b_sync", time.Second)
	b.waitPrefix(t, "b_sees_go", globalStep)
	b.waitMillis(t, "b_sync2", time.Second)
	require.Equal(t, a.name, b.waitPrefix(t, "b_where_a", globalStep))
	require.Equal(t, n.Name(), b.waitPrefix(t, "b_where_go", globalStep))
	require.Equal(t, "in_trans", b.waitPrefix(t, "b_trans", globalStep))
	require.Equal(t, "true", b.waitPrefix(t, "b_set_lock", globalStep))
	require.Equal(t, "true", b.waitPrefix(t, "b_del_lock", globalStep))
	b.waitLine(t, "b_registered", globalStep)

	a.waitMillis(t, "a_sync2", time.Second)
	require.Equal(t, n.Name(), a.waitPrefix(t, "a_where_go", globalStep))
	require.Equal(t, "in_trans", a.waitPrefix(t, "a_trans", globalStep))
	a.waitLine(t, "a_done", globalStep)

	pid, ok, err = n.WhereisGlobal(ctx, etf.Atom("b_name"))
	require.NoError(t, err)
	require.True(t, ok, "b_name is not registered on the Go node")
	require.Equal(t, etf.Atom(b.name), pid.Node)
	require.NoError(t, n.SyncGlobal(ctx))
	return a, b
}

// TestGlobalCluster: with the Go node in a cluster of two BEAM nodes, global:sync/0 returns within a second on
// each, trans and set_lock over every node complete, names registered on either side resolve on the other, and
// global connects the second BEAM node, which knows only the first, to the Go node.
func TestGlobalCluster(t *testing.T) {
	requireErl(t)
	n := startNode(t, hookstest.Engine(t))
	startGlobalCluster(t, n)
}

// rpcWithin runs m:f(args...) on node by rpc from n and returns the result, failing the test when it takes
// longer than limit.
func rpcWithin(t *testing.T, n *Node, node, m, f string, limit time.Duration, args ...etf.Term) etf.Term {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), globalStep)
	defer cancel()
	start := time.Now()
	r, err := n.RPC(ctx, node, m, f, args...)
	require.NoError(t, err, "%s:%s on %s", m, f, node)
	d := time.Since(start)
	require.LessOrEqual(t, d, limit, "%s:%s on %s took %v", m, f, node, d)
	t.Logf("%s:%s on %s: %v in %v", m, f, node, r, d)
	return r
}

// eventually polls cond every 20 ms until it holds, failing the test after globalStep.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(globalStep)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, globalStep)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGlobalRestart: the Go node of the three-node cluster stops and starts again under its name; the BEAM
// nodes drop its names, it rejoins through one of them and global connects it to the other, syncs within a
// second on each, locks over every node, and names resolve both ways again.
func TestGlobalRestart(t *testing.T) {
	requireErl(t)
	e := hookstest.Engine(t)
	name := uniqueName("go")
	// EPMD may still hold the name of the node just stopped for a moment (it frees it when it sees the
	// registration's socket close): a restart tries again for up to globalStep.
	start := func() *Node {
		deadline := time.Now().Add(globalStep)
		for {
			n, err := Start(context.Background(), Options{Name: name, Cookie: testCookie, Engine: e, Logger: testLogger(t)})
			if err == nil {
				t.Cleanup(n.Stop)
				return n
			}
			require.True(t, time.Now().Before(deadline), "start %s: %v", name, err)
			time.Sleep(50 * time.Millisecond)
		}
	}
	n := start()
	a, b := startGlobalCluster(t, n)
	n.Stop()

	n = start()
	eventually(t, "go_name dropped on A", func() bool {
		return rpcWithin(t, n, a.name, "global", "whereis_name", globalStep, etf.Atom("go_name")) == etf.Atom("undefined")
	})
	require.Equal(t, etf.Atom("ok"), rpcWithin(t, n, a.name, "global", "sync", time.Second))
	// Only A was called: global connects B.
	eventually(t, "B connected to the Go node again", func() bool { return n.conn(etf.Atom(b.name)) != nil })
	require.Equal(t, etf.Atom("undefined"), rpcWithin(t, n, b.name, "global", "whereis_name", globalStep, etf.Atom("go_name")))
	require.Equal(t, etf.Atom("ok"), rpcWithin(t, n, b.name, "global", "sync", time.Second))
	require.Equal(t, etf.Atom("ok"), rpcWithin(t, n, a.name, "global", "sync", time.Second))

	ctx, cancel := context.WithTimeout(context.Background(), globalStep)
	defer cancel()
	require.NoError(t, n.SyncGlobal(ctx))
	for nm, node := range map[string]string{"a_name": a.name, "b_name": b.name} {
		pid, ok, err := n.WhereisGlobal(ctx, etf.Atom(nm))
		require.NoError(t, err)
		require.True(t, ok, "%s is not registered on the restarted Go node", nm)
		require.Equal(t, etf.Atom(node), pid.Node)
	}
	yes, err := n.RegisterGlobal(ctx, etf.Atom("go_name"), n.HooksPid())
	require.NoError(t, err)
	require.True(t, yes)
	for _, peer := range []string{a.name, b.name} {
		require.Equal(t, n.HooksPid(), rpcWithin(t, n, peer, "global", "whereis_name", globalStep, etf.Atom("go_name")))
	}
	all := etf.List{etf.Atom(a.name), etf.Atom(b.name), etf.Atom(name)}
	lock := etf.Tuple{etf.Atom("restart_lock"), etf.Atom("test")}
	require.Equal(t, true, rpcWithin(t, n, b.name, "global", "set_lock", globalStep, lock, all, int64(3)))
	require.Equal(t, true, rpcWithin(t, n, b.name, "global", "del_lock", globalStep, lock, all))
}

// TestGlobalGoNodes: two Go nodes connect global between themselves (both lockers are ours), and a BEAM node
// that connects to one of them is connected to the other by global.
func TestGlobalGoNodes(t *testing.T) {
	requireErl(t)
	e := hookstest.Engine(t)
	n1, n2 := startNode(t, e), startNode(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), globalStep)
	defer cancel()
	_, err := n1.connTo(ctx, etf.Atom(n2.Name()))
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, n1.SyncGlobal(ctx))
	require.NoError(t, n2.SyncGlobal(ctx))
	t.Logf("Go nodes synced in %v", time.Since(start))
	require.Less(t, time.Since(start), time.Second)

	yes, err := n1.RegisterGlobal(ctx, etf.Atom("n1_name"), n1.HooksPid())
	require.NoError(t, err)
	require.True(t, yes)
	pid, ok, err := n2.WhereisGlobal(ctx, etf.Atom("n1_name"))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, n1.HooksPid(), pid)

	script := fmt.Sprintf(`
		Ms = fun() -> erlang:monotonic_time(millisecond) end,
		Wait = fun W(F, 0) -> F(); W(F, N) -> case F() of true -> true; false -> timer:sleep(20), W(F, N - 1) end end,
		T0 = Ms(), pong = net_adm:ping(Go), ok = global:sync(), io:format("c_sync ~p~n", [Ms() - T0]),
		true = Wait(fun() -> lists:member('%s', nodes()) end, 250),
		T1 = Ms(), ok = global:sync(), io:format("c_sync2 ~p~n", [Ms() - T1]),
		io:format("c_where ~p~n", [node(global:whereis_name(n1_name))]),
		receive stop -> ok end`, n2.Name())
	c := startErl(t, testCookie, n1.Name(), script)
	c.waitMillis(t, "c_sync", time.Second)
	c.waitMillis(t, "c_sync2", time.Second)
	require.Equal(t, n1.Name(), c.waitPrefix(t, "c_where", globalStep))
	require.NotNil(t, n2.conn(etf.Atom(c.name)), "global connected the BEAM node to the second Go node")
}

// idleProcess is an ergo process that does nothing, for a name to point at.
type idleProcess struct{ gen.Server }

// TestGlobalServicePid: a process of the Go node registered globally from Go resolves on a BEAM node, and its
// name goes everywhere when it exits.
func TestGlobalServicePid(t *testing.T) {
	requireErl(t)
	n := startNode(t, hookstest.Engine(t))
	a := startErl(t, testCookie, n.Name(), `pong = net_adm:ping(Go), ok = global:sync(), io:format("a_ready~n"), receive stop -> ok end`)
	a.waitLine(t, "a_ready", globalStep)
	p, err := n.ergo.Spawn("", gen.ProcessOptions{}, &idleProcess{})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), globalStep)
	defer cancel()
	yes, err := n.RegisterGlobal(ctx, etf.Atom("service"), p.Self())
	require.NoError(t, err)
	require.True(t, yes)
	require.Equal(t, p.Self(), rpcWithin(t, n, a.name, "global", "whereis_name", globalStep, etf.Atom("service")))

	yes, err = n.RegisterGlobal(ctx, etf.Atom("service2"), p.Self())
	require.NoError(t, err)
	require.False(t, yes, "a pid has one name at most")

	p.Kill()
	eventually(t, "the name of an exited process dropped on A", func() bool {
		return rpcWithin(t, n, a.name, "global", "whereis_name", globalStep, etf.Atom("service")) == etf.Atom("undefined")
	})
	_, ok, err := n.WhereisGlobal(ctx, etf.Atom("service"))
	require.NoError(t, err)
	require.False(t, ok)
}

// TestGlobalServedPid: a pid that Go code serves (dist.Services), as an exposed service's is, registered globally
// from Go: a BEAM node resolves it and global:send/2 reaches its service; when the service says the pid is no
// longer alive, the name goes on the BEAM node too.
func TestGlobalServedPid(t *testing.T) {
	requireErl(t)
	n := startNode(t, hookstest.Engine(t))
	pid := etf.Pid{Node: etf.Atom(n.Name()), ID: 0x7ffc0000<<32 | 1, Creation: n.HooksPid().Creation} // a serial no service of served.go uses
	var alive atomic.Bool
	alive.Store(true)
	got := make(chan etf.Term, 1)
	// Each BEAM node's global monitors the pids registered with it; the service keeps those monitors and
	// reports the pid's end to them.
	type watcher struct {
		c    *dist.Conn
		from etf.Pid
		ref  etf.Ref
	}
	var mu sync.Mutex
	var watchers []watcher
	n.served.ServePids(dist.PidService{
		Owns:  func(p etf.Pid) bool { return p == pid },
		Alive: func(etf.Pid) bool { return alive.Load() },
		Message: func(_ *dist.Conn, _, _ etf.Pid, msg etf.Term) bool {
			got <- msg
			return true
		},
		Monitor: func(c *dist.Conn, from, _ etf.Pid, ref etf.Ref) bool {
			mu.Lock()
			defer mu.Unlock()
			watchers = append(watchers, watcher{c, from, ref})
			return true
		},
		Demonitor: func(_ *dist.Conn, _, _ etf.Pid, ref etf.Ref) bool {
			mu.Lock()
			defer mu.Unlock()
			watchers = slices.DeleteFunc(watchers, func(w watcher) bool { return w.ref == ref })
			return true
		},
	})
	a := startErl(t, testCookie, n.Name(), `pong = net_adm:ping(Go), ok = global:sync(), io:format("a_ready~n"), receive stop -> ok end`)
	a.waitLine(t, "a_ready", globalStep)
	ctx, cancel := context.WithTimeout(context.Background(), globalStep)
	defer cancel()
	yes, err := n.RegisterGlobal(ctx, etf.Atom("served"), pid)
	require.NoError(t, err)
	require.True(t, yes)
	require.Equal(t, pid, rpcWithin(t, n, a.name, "global", "whereis_name", globalStep, etf.Atom("served")))
	require.Equal(t, pid, rpcWithin(t, n, a.name, "global", "send", globalStep, etf.Atom("served"), etf.Atom("hello")))
	select {
	case msg := <-got:
		require.Equal(t, etf.Atom("hello"), msg)
	case <-time.After(globalStep):
		t.Fatal("global:send/2 on the BEAM node did not reach the served pid")
	}

	alive.Store(false)
	mu.Lock()
	for _, w := range watchers {
		require.NoError(t, w.c.SendMonitorExit(pid, w.from, w.ref, etf.Atom("shutdown")))
	}
	mu.Unlock()
	eventually(t, "the name of a served pid no longer alive dropped on A", func() bool {
		return rpcWithin(t, n, a.name, "global", "whereis_name", globalStep, etf.Atom("served")) == etf.Atom("undefined")
	})
	_, ok, err := n.WhereisGlobal(ctx, etf.Atom("served"))
	require.NoError(t, err)
	require.False(t, ok)
	_, err = n.RegisterGlobal(ctx, etf.Atom("served"), pid)
	var herr *hooks.Error
	require.ErrorAs(t, err, &herr)
	require.Equal(t, KindNoproc, herr.Kind, "a served pid no longer alive")
}

// TestGlobalHidden: a hidden node's global takes no part in connecting nodes: connected to a visible node, it
// syncs at once, and a name it registers stays its own.
func TestGlobalHidden(t *testing.T) {
	e := hookstest.Engine(t)
	visible := startNode(t, e)
	hidden, err := Start(context.Background(), Options{Name: uniqueName("go"), Cookie: testCookie, Engine: e,
		Logger: testLogger(t), Hidden: true})
	require.NoError(t, err)
	t.Cleanup(hidden.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), globalStep)
	defer cancel()
	_, err = hidden.connTo(ctx, etf.Atom(visible.Name()))
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, hidden.SyncGlobal(ctx))
	require.Less(t, time.Since(start), time.Second)
	yes, err := hidden.RegisterGlobal(ctx, etf.Atom("hidden_name"), hidden.HooksPid())
	require.NoError(t, err)
	require.True(t, yes)
	pid, ok, err := hidden.WhereisGlobal(ctx, etf.Atom("hidden_name"))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, hidden.HooksPid(), pid)
	_, ok, err = visible.WhereisGlobal(ctx, etf.Atom("hidden_name"))
	require.NoError(t, err)
	require.False(t, ok, "a hidden node's name reached a visible node")
}

// clientOfTwo is the BEAM node of TestGlobalTwoGoNodesOneBEAM: it pings First then Second, calls hornbeam_hooks
// on both in turn for two seconds, syncs global, and prints what failed, what it sees and every nodedown.
const clientOfTwo = `
	Ms = fun() -> erlang:monotonic_time(millisecond) end,
	ok = net_kernel:monitor_nodes(true, [nodedown_reason]),
	Both = [First, Second],
	[pong = net_adm:ping(N) || N <- Both],
	Call = fun(N) -> catch gen_server:call({hornbeam_hooks, N}, {execute, <<"echo">>, <<"echo">>, [x], #{}}, 5000) end,
	End = Ms() + 2000,
	Loop = fun L(Calls) ->
		case Ms() > End of
			true -> Calls;
			false ->
				[case Call(N) of {ok, _} -> ok; Bad -> io:format("bad_call ~w ~w~n", [N, Bad]) end || N <- Both],
				L(Calls + 2)
		end
	end,
	io:format("calls ~p~n", [Loop(0)]),
	T0 = Ms(), ok = global:sync(), io:format("sync ~p~n", [Ms() - T0]),
	io:format("nodes ~p~n", [lists:sort(nodes()) =:= lists:sort(Both)]),
	Downs = fun D(Acc) -> receive {nodedown, N, R} -> D([{N, R} | Acc]) after 0 -> lists:reverse(Acc) end end,
	io:format("downs ~w~n", [Downs([])]),
	receive stop -> ok end`

// TestGlobalTwoGoNodesOneBEAM: a BEAM node connects to two Go nodes one right after the other and calls both
// in a loop, as bench/dist.sh does. global on the Go nodes learns of the other one from the BEAM node and both
// connect to each other at about the same time; one connection must win, with no connection lost on the way:
// no call fails, no node is disconnected to prevent overlapping partitions, global:sync/0 completes, and the
// Go nodes end up connected to each other. Both orders of the pings, with the Go nodes started at once and
// 500 ms apart.
func TestGlobalTwoGoNodesOneBEAM(t *testing.T) {
	requireErl(t)
	for _, gap := range []time.Duration{0, 500 * time.Millisecond} {
		for _, swap := range []bool{false, true} {
			t.Run(fmt.Sprintf("gap=%v/swap=%v", gap, swap), func(t *testing.T) {
				n1, logs1 := startLoggedNode(t, false)
				time.Sleep(gap)
				n2, logs2 := startLoggedNode(t, false)
				first, second := n1, n2
				if swap {
					first, second = n2, n1
				}
				c := startErl(t, testCookie, first.Name(), fmt.Sprintf("First = Go, Second = '%s', %s", second.Name(), clientOfTwo))
				calls := c.waitPrefix(t, "calls", globalStep)
				c.waitMillis(t, "sync", time.Second)
				require.Equal(t, "true", c.waitPrefix(t, "nodes", globalStep), "nodes() on the BEAM node")
				require.Equal(t, "[]", c.waitPrefix(t, "downs", globalStep), "nodedowns on the BEAM node")
				t.Logf("%s calls", calls)
				eventually(t, "the Go nodes connected to each other", func() bool {
					return n1.conn(etf.Atom(n2.Name())) != nil && n2.conn(etf.Atom(n1.Name())) != nil
				})
				ctx, cancel := context.WithTimeout(context.Background(), globalStep)
				defer cancel()
				require.NoError(t, n1.SyncGlobal(ctx))
				require.NoError(t, n2.SyncGlobal(ctx))
				for _, out := range []string{c.output(), logs1.String(), logs2.String()} {
					require.NotContains(t, out, "bad_call")
					require.NotContains(t, out, "overlapping partitions")
					require.NotContains(t, out, "failed to connect")
				}
			})
		}
	}
}
