package node

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ergo-services/ergo/gen"
	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
	"github.com/hornbeam-go/hornbeam/internal/hookstest"
	"github.com/hornbeam-go/hornbeam/proto"
	"github.com/stretchr/testify/require"
)

// orderSink is an ergo process that records the {seq, I} messages it gets; the call {check, N, Pid} replies
// whether it got 0..N-1 in order and then sends {back, I} for I in 0..N-1 to Pid.
type orderSink struct {
	gen.Server
	got []int
}

func (o *orderSink) HandleInfo(_ *gen.ServerProcess, msg etf.Term) gen.ServerStatus {
	if t, ok := msg.(etf.Tuple); ok && len(t) == 2 && t[0] == etf.Atom("seq") {
		i, _ := etf.Int(t[1])
		o.got = append(o.got, i)
	}
	return gen.ServerStatusOK
}

func (o *orderSink) HandleCall(p *gen.ServerProcess, _ gen.ServerFrom, req etf.Term) (etf.Term, gen.ServerStatus) {
	t := req.(etf.Tuple)
	n, _ := etf.Int(t[1])
	inOrder := len(o.got) == n
	for i := 0; inOrder && i < n; i++ {
		inOrder = o.got[i] == i
	}
	for i := range n {
		if err := p.Send(t[2].(etf.Pid), etf.Tuple{etf.Atom("back"), int64(i)}); err != nil {
			return err.Error(), gen.ServerStatusOK
		}
	}
	return etf.Tuple{etf.Atom("in_order"), inOrder, int64(len(o.got))}, gen.ServerStatusOK
}

func TestOrderBothWays(t *testing.T) {
	requireErl(t)
	n := startNode(t, hookstest.Engine(t))
	_, err := n.ergo.Spawn("order_sink", gen.ProcessOptions{MailboxSize: 64}, &orderSink{})
	require.NoError(t, err)
	out := runErl(t, testCookie, n.Name(), `
		N = 10000,
		[{order_sink, Go} ! {seq, I} || I <- lists:seq(0, N - 1)],
		R = gen_server:call({order_sink, Go}, {check, N, self()}, 30000),
		Back = [receive {back, I} -> I after 10000 -> timeout end || _ <- lists:seq(1, N)],
		io:format("~p~n", [{R, Back =:= lists:seq(0, N - 1)}])`, 60*time.Second)
	require.Equal(t, "{{in_order,true,10000},true}", strings.TrimSpace(out))
}

func TestConcurrentCalls(t *testing.T) {
	requireErl(t)
	n := startNode(t, hookstest.Engine(t))
	out := runErl(t, testCookie, n.Name(), `
		S = {hornbeam_hooks, Go},
		Self = self(),
		spawn(fun() -> Self ! {slow, gen_server:call(S, {execute, <<"echo">>, <<"sleep">>, [3000], #{}}, 10000)} end),
		timer:sleep(50),
		Pids = [spawn(fun() ->
			Ok = lists:all(fun(I) ->
				gen_server:call(S, {execute, <<"echo">>, <<"echo">>, [{P, I}], #{}}, 5000) =:= {ok, {P, I}}
			end, lists:seq(1, 50)),
			Self ! {done, self(), Ok}
		end) || P <- lists:seq(1, 32)],
		AllOk = lists:all(fun(Pid) -> receive {done, Pid, Ok} -> Ok end end, Pids),
		BeforeSlow = receive {slow, _} -> false after 0 -> true end,
		Slow = receive {slow, R} -> R end,
		io:format("~p~n", [{AllOk, BeforeSlow, Slow}])`, 60*time.Second)
	require.Equal(t, "{true,true,{ok,3000}}", strings.TrimSpace(out))
}

func TestWrongCookie(t *testing.T) {
	requireErl(t)
	n := startNode(t, hookstest.Engine(t))
	out := runErl(t, "not_the_cookie", n.Name(), `io:format("~p~n", [net_adm:ping(Go)])`, 20*time.Second)
	require.Equal(t, "pang", strings.TrimSpace(out))
}

func TestBadPayloadKeepsLink(t *testing.T) {
	requireErl(t)
	e := hookstest.Engine(t)
	n, err := Start(context.Background(), Options{Name: uniqueName("go"), Cookie: testCookie, Engine: e,
		MaxMessageSize: 1 << 20, Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(n.Stop)
	out := runErl(t, testCookie, n.Name(), `
		S = {hornbeam_hooks, Go},
		Deep = lists:foldl(fun(_, A) -> [A] end, [], lists:seq(1, 20000)),
		{error, {badterm, D1}} = gen_server:call(S, {execute, <<"echo">>, <<"echo">>, [Deep], #{}}, 5000),
		{error, {badterm, D2}} = gen_server:call(S, {execute, <<"echo">>, <<"echo">>, [binary:copy(<<1>>, 2 bsl 20)], #{}}, 5000),
		R = gen_server:call(S, {execute, <<"echo">>, <<"echo">>, [ok], #{}}, 5000),
		io:format("~p~n~p~n", [{is_binary(D1), is_binary(D2), R, nodes()}, D2])`, 20*time.Second)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	require.Equal(t, "{true,true,{ok,ok},["+n.Name()+"]}", strings.TrimSpace(lines[0]))
	require.Contains(t, lines[1], "exceeds the limit of 1048576")
}

// blocker is a hook whose calls and streams wait until their context ends and then report it on done.
func blocker(t *testing.T, e *hooks.Engine) <-chan string {
	done := make(chan string, 16)
	require.NoError(t, e.Register("block", hooks.Func(func(ctx context.Context, action string, _ []etf.Term, _ etf.Map) (any, error) {
		if action == "stream" {
			return func(yield func(any) bool) {
				if yield(int64(0)) {
					<-ctx.Done()
				}
				done <- action
			}, nil
		}
		<-ctx.Done()
		done <- action
		return nil, ctx.Err()
	})))
	return done
}

// waitReleased waits until want hook calls have seen their context end.
func waitReleased(t *testing.T, done <-chan string, want ...string) {
	t.Helper()
	var got []string
	for range want {
		select {
		case a := <-done:
			got = append(got, a)
		case <-time.After(10 * time.Second):
			t.Fatalf("released %v; want %v", got, want)
		}
	}
	require.ElementsMatch(t, want, got)
}

func TestCallerExitReleases(t *testing.T) {
	requireErl(t)
	e := hookstest.Engine(t)
	done := blocker(t, e)
	n := startNode(t, e)
	e1 := startErl(t, testCookie, n.Name(), `
		S = {hornbeam_hooks, Go},
		Self = self(),
		P = spawn(fun() ->
			{ok, _} = gen_server:call(S, {execute_async, <<"block">>, <<"task">>, [], #{}}, 5000),
			{ok, _} = gen_server:call(S, {stream, <<"block">>, <<"stream">>, [], #{}, #{window => 1}}, 5000),
			Self ! opened,
			receive stop -> ok end
		end),
		receive opened -> ok end,
		io:format("opened~n"),
		receive go -> ok after 2000 -> ok end,
		P ! stop,
		receive never -> ok end`)
	e1.waitLine(t, "opened", 10*time.Second)
	waitReleased(t, done, "task", "stream")
	e2 := startErl(t, testCookie, n.Name(), `
		S = {hornbeam_hooks, Go},
		{ok, _} = gen_server:call(S, {execute_async, <<"block">>, <<"task">>, [], #{}}, 5000),
		{ok, _} = gen_server:call(S, {stream, <<"block">>, <<"stream">>, [], #{}, #{window => 1}}, 5000),
		io:format("opened~n"),
		receive never -> ok end`)
	e2.waitLine(t, "opened", 10*time.Second)
	require.NoError(t, e2.cmd.Process.Kill())
	waitReleased(t, done, "task", "stream")
}

func TestGoNodeDown(t *testing.T) {
	requireErl(t)
	n := startNode(t, hookstest.Engine(t))
	e := startErl(t, testCookie, n.Name(), `
		pong = net_adm:ping(Go),
		monitor_node(Go, true),
		M = erlang:monitor(process, {hornbeam_hooks, Go}),
		io:format("ready~n"),
		R1 = receive {'DOWN', M, process, _, Reason} -> Reason after 10000 -> no_down end,
		R2 = receive {nodedown, Go} -> nodedown after 10000 -> no_nodedown end,
		io:format("~p~n", [{R1, R2}]),
		halt()`)
	e.waitLine(t, "ready", 10*time.Second)
	n.Stop()
	out := e.wait(t, 20*time.Second)
	require.Contains(t, out, "{noconnection,nodedown}")
}

func TestTwoNodesInOneProcess(t *testing.T) {
	e := hookstest.Engine(t)
	a := startNode(t, e)
	b := startNode(t, e)
	p, err := a.ergo.Spawn("", gen.ProcessOptions{}, &caller2{})
	require.NoError(t, err)
	r, err := p.Direct(etf.Tuple{etf.Atom(b.Name()), etf.Tuple{proto.AtomExecute, []byte("echo"), []byte("echo"), etf.List{etf.Tuple{etf.Atom("x"), []byte("y")}}, etf.Map{}}})
	require.NoError(t, err)
	require.True(t, etf.Equal(etf.Tuple{proto.AtomOK, etf.Tuple{etf.Atom("x"), []byte("y")}}, r), "got %v", r)
}

// caller2 is an ergo process that makes a gen_server call to hornbeam_hooks on another node for a Direct request
// {Node, Req}.
type caller2 struct {
	gen.Server
}

func (c *caller2) HandleDirect(p *gen.ServerProcess, _ etf.Ref, msg interface{}) (interface{}, gen.DirectStatus) {
	t := msg.(etf.Tuple)
	return p.CallWithTimeout(gen.ProcessID{Name: string(nameHooks), Node: string(t[0].(etf.Atom))}, t[1], 5)
}

// watcher is an ergo process that monitors the pids sent to it as {watch, Pid} and reports their 'DOWN'
// reasons on down.
type watcher struct {
	gen.Server
	down chan string
}

func (w *watcher) HandleInfo(p *gen.ServerProcess, msg etf.Term) gen.ServerStatus {
	switch m := msg.(type) {
	case etf.Tuple:
		if len(m) == 2 && m[0] == etf.Atom("watch") {
			p.MonitorProcess(m[1])
			if err := p.Send(m[1], etf.Tuple{etf.Atom("watching"), p.Self()}); err != nil {
				w.down <- err.Error()
			}
		}
	case gen.MessageDown:
		w.down <- m.Reason
	}
	return gen.ServerStatusOK
}

func TestErlNodeDownFiresGoMonitors(t *testing.T) {
	requireErl(t)
	n := startNode(t, hookstest.Engine(t))
	w := &watcher{down: make(chan string, 2)}
	_, err := n.ergo.Spawn("watcher", gen.ProcessOptions{}, w)
	require.NoError(t, err)
	e := startErl(t, testCookie, n.Name(), `
		{watcher, Go} ! {watch, self()},
		receive {watching, _} -> io:format("watched~n") end,
		receive never -> ok end`)
	e.waitLine(t, "watched", 10*time.Second)
	require.NoError(t, e.cmd.Process.Kill())
	select {
	case reason := <-w.down:
		require.Equal(t, "noconnection", reason)
	case <-time.After(10 * time.Second):
		t.Fatal("no 'DOWN' for the killed node's process")
	}
}

func TestExit2EndsErgoProcess(t *testing.T) {
	requireErl(t)
	n := startNode(t, hookstest.Engine(t))
	_, err := n.ergo.Spawn("victim", gen.ProcessOptions{}, &watcher{down: make(chan string, 2)})
	require.NoError(t, err)
	out := runErl(t, testCookie, n.Name(), `
		{victim, Go} ! {watch, self()},
		Victim = receive {watching, P} -> P after 5000 -> timeout end,
		M = erlang:monitor(process, Victim),
		exit(Victim, normal),
		Normal = receive {'DOWN', M, _, _, R1} -> {down, R1} after 300 -> alive end,
		exit(Victim, kill),
		Kill = receive {'DOWN', M, _, _, _} -> down after 5000 -> alive end,
		io:format("~p~n", [{Normal, Kill}])`, 20*time.Second)
	require.Equal(t, "{alive,down}", strings.TrimSpace(out))
}

// TestErpcCallEndsWithCallerNode: as on a BEAM node, an erpc call that timed out on the caller's side runs on
// (erpc only demonitors it), and it is cancelled when the caller's node goes away.
func TestErpcCallEndsWithCallerNode(t *testing.T) {
	requireErl(t)
	e := hookstest.Engine(t)
	done := blocker(t, e)
	n := startNode(t, e)
	erl := startErl(t, testCookie, n.Name(), `
		R = try erpc:call(Go, hornbeam_hooks, execute, [<<"block">>, <<"call">>, [], #{}], 300)
			catch error:Reason -> Reason end,
		io:format("~p~n", [R]),
		receive never -> ok end`)
	erl.waitLine(t, "{erpc,timeout}", 10*time.Second)
	select {
	case a := <-done:
		t.Fatalf("%s released while its caller's node is up", a)
	case <-time.After(300 * time.Millisecond):
	}
	require.NoError(t, erl.cmd.Process.Kill())
	waitReleased(t, done, "call")
}

// TestSilentPeerDropped stops an erl peer (SIGSTOP) after it connected: with no byte from it for four tick
// intervals, plus one for the renewal, the node drops the link.
func TestSilentPeerDropped(t *testing.T) {
	requireErl(t)
	tick := 100 * time.Millisecond
	n, err := Start(context.Background(), Options{Name: uniqueName("go"), Cookie: testCookie, Engine: hookstest.Engine(t),
		Logger: testLogger(t), TickInterval: tick})
	require.NoError(t, err)
	t.Cleanup(n.Stop)
	e := startErl(t, testCookie, n.Name(), `io:format("~p~n", [net_adm:ping(Go)]), receive after infinity -> ok end`)
	e.waitLine(t, "pong", 20*time.Second)
	require.NotNil(t, n.conn(etf.Atom(e.name)))
	require.NoError(t, e.cmd.Process.Signal(syscall.SIGSTOP))
	t.Cleanup(func() { _ = e.cmd.Process.Signal(syscall.SIGCONT) })
	stopped := time.Now()
	require.Eventually(t, func() bool { return n.conn(etf.Atom(e.name)) == nil }, 20*tick, tick/10)
	require.GreaterOrEqual(t, time.Since(stopped), 3*tick)
}
