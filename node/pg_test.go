package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
	"github.com/hornbeam-go/hornbeam/internal/hookstest"
	"github.com/stretchr/testify/require"
)

// pgPrelude binds, on an erl node, Await(Group, N): wait up to 5 s until Group in the scope hornbeam has N
// members on Go nodes, print "Group N" and return them; and Forever(), which keeps the node up.
const pgPrelude = `
Await = fun(G, N) ->
    T0 = erlang:monotonic_time(millisecond),
    (fun L() ->
        M = [P || P <- pg:get_members(hornbeam, G), node(P) =/= node()],
        case length(M) =:= N of
            true -> io:format("~s ~p~n", [G, N]), M;
            false ->
                case erlang:monotonic_time(millisecond) - T0 > 5000 of
                    true -> io:format("timeout waiting for ~s ~p: ~p~n", [G, N, M]), halt(1);
                    false -> timer:sleep(5), L()
                end
        end
    end)()
end,
Forever = fun() -> receive after infinity -> ok end end,
`

// within fails the test unless the line comes within d of start.
func within(t *testing.T, e *erl, line string, start time.Time, d time.Duration) {
	t.Helper()
	e.waitLine(t, line, 10*time.Second)
	if took := time.Since(start); took > d {
		t.Errorf("%q after %v; want it within %v", line, took, d)
	}
}

func TestPGMembersOnBEAM(t *testing.T) {
	requireErl(t)
	tests := []struct {
		name    string
		connect string // how erl connects to the Go node and starts its scope
	}{
		{"scope before connection", `{ok, _} = pg:start(hornbeam), pong = net_adm:ping(Go),`},
		{"scope after connection", `pong = net_adm:ping(Go), timer:sleep(300), {ok, _} = pg:start(hornbeam),`},
		{"hidden, scope before connection", `{ok, _} = pg:start(hornbeam), true = net_kernel:hidden_connect_node(Go),`},
		{"hidden, scope after connection", `true = net_kernel:hidden_connect_node(Go), timer:sleep(300), {ok, _} = pg:start(hornbeam),`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := hookstest.Engine(t)
			n := startNode(t, e)
			script := pgPrelude + tt.connect + `
				[P] = Await(<<"echo">>, 1),
				7 = gen_server:call(P, {echo, 7}, 1000),
				{error, {unknown_action, <<"ping">>}} = gen_server:call(P, ping, 1000),
				[H] = Await(hornbeam_hooks, 1),
				{ok, 8} = gen_server:call(H, {execute, <<"echo">>, echo, [8], #{}}, 1000),
				ok = pg:join(hornbeam, <<"erlside">>, self()),
				io:format("called~n"),
				[C] = Await(<<"demo.calculator">>, 1),
				Ref = erlang:monitor(process, C),
				process_flag(trap_exit, true),
				true = link(C),
				1 = gen_server:call(C, {ping, 1}, 1000), % the monitor and the link are in place
				{messages, []} = process_info(self(), messages),
				io:format("monitoring~n"),
				[] = Await(<<"demo.calculator">>, 0),
				receive {'DOWN', Ref, process, C, shutdown} -> io:format("down~n") after 1000 -> io:format("no DOWN~n") end,
				receive {'EXIT', C, shutdown} -> io:format("exit~n") after 1000 -> io:format("no EXIT~n") end,
				true = link(C),
				receive {'EXIT', C, noproc} -> io:format("noproc~n") after 1000 -> io:format("no noproc~n") end,
				Forever()`
			started := time.Now()
			er := startErl(t, testCookie, n.Name(), script)
			within(t, er, "echo 1", started, 3*time.Second)
			er.waitLine(t, "called", 5*time.Second)
			require.Eventually(t, func() bool {
				m := n.PG().Members([]byte("erlside"))
				return len(m) == 1 && string(m[0].Node) == er.name
			}, time.Second, 5*time.Millisecond, "the erl member seen from Go")

			start := time.Now()
			require.NoError(t, e.Register("demo.calculator", hooks.Func(echoAction)))
			within(t, er, "demo.calculator 1", start, time.Second)
			er.waitLine(t, "monitoring", 5*time.Second)
			start = time.Now()
			require.True(t, e.Unregister("demo.calculator"))
			within(t, er, "demo.calculator 0", start, time.Second)
			er.waitLine(t, "down", 5*time.Second)
			er.waitLine(t, "exit", 5*time.Second)
			er.waitLine(t, "noproc", 5*time.Second)
		})
	}
}

func TestPGTwoGoNodesAndRestart(t *testing.T) {
	requireErl(t)
	e1, e2 := hookstest.Engine(t), hookstest.Engine(t)
	n1, n2 := startNode(t, e1), startNode(t, e2)
	script := pgPrelude + fmt.Sprintf(`
		{ok, _} = pg:start(hornbeam),
		pong = net_adm:ping('%s'),
		pong = net_adm:ping('%s'),
		Ms = Await(<<"echo">>, 2),
		io:format("nodes ~p~n", [lists:usort([node(P) || P <- Ms]) =:= lists:sort(['%[1]s', '%[2]s'])]),
		[_] = Await(<<"echo">>, 1),
		Await(<<"echo">>, 2),
		Forever()`, n1.Name(), n2.Name())
	er := startErl(t, testCookie, n1.Name(), script)
	er.waitLine(t, "echo 2", 5*time.Second)
	er.waitLine(t, "nodes true", time.Second)

	// The Go node goes: its members leave on the BEAM side with the connection.
	start := time.Now()
	n2.Stop()
	within(t, er, "echo 1", start, time.Second)

	// It comes back under the same name and connects to erl: its new member joins. (Under -race, ergo's
	// package-level corePID, written by the new node while the old one's connections wind down, is reported.)
	n2, err := Start(context.Background(), Options{Name: n2.Name(), Cookie: testCookie, Engine: e2, Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(n2.Stop)
	start = time.Now()
	v, err := n2.RPC(context.Background(), er.name, "erlang", "node")
	require.NoError(t, err)
	require.Equal(t, etf.Atom(er.name), v)
	within(t, er, "echo 2", start, time.Second)
}

// echoAction returns its first argument whatever the action.
func echoAction(_ context.Context, _ string, args []etf.Term, _ etf.Map) (any, error) {
	return args[0], nil
}

func TestPGBetweenGoNodes(t *testing.T) {
	e1, e2 := hookstest.Engine(t), hookstest.Engine(t)
	n1, n2 := startNode(t, e1), startNode(t, e2)
	members := func(n *Node, group string) func() int {
		return func() int { return len(n.PG().Members([]byte(group))) }
	}
	_, err := n1.Call(context.Background(), etf.Tuple{nameHooks, etf.Atom(n2.Name())}, etf.Atom("all"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return members(n1, "echo")() == 2 && members(n2, "echo")() == 2 },
		time.Second, 5*time.Millisecond, "each node sees both members")

	require.NoError(t, e2.Register("demo.calculator", hooks.Func(echoAction)))
	require.Eventually(t, func() bool { return members(n1, "demo.calculator")() == 1 }, time.Second, 5*time.Millisecond)
	require.Equal(t, etf.Atom(n2.Name()), n1.PG().Members([]byte("demo.calculator"))[0].Node)

	n2.Stop()
	require.Eventually(t, func() bool { return members(n1, "echo")() == 1 && members(n1, "demo.calculator")() == 0 },
		time.Second, 5*time.Millisecond, "the stopped node's members are gone")
}
