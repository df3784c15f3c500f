package node

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hornbeam-go/hornbeam/internal/hookstest"
	"github.com/stretchr/testify/require"
)

// TestSysOnHooks: sys:get_state and sys:get_status on hornbeam_hooks answer at once with a summary map, by name
// and by pid; other sys requests get an error, not a timeout.
func TestSysOnHooks(t *testing.T) {
	requireErl(t)
	n := startNode(t, hookstest.Engine(t))
	out := runErl(t, testCookie, n.Name(), `
		S = {hornbeam_hooks, Go},
		pong = net_adm:ping(Go),
		T0 = erlang:monotonic_time(millisecond),
		State = sys:get_state(S, 1000),
		Ms = erlang:monotonic_time(millisecond) - T0,
		{status, P, {module, gen_server}, [_, running, _, _, Misc]} = sys:get_status(S, 1000),
		[{"State", State2}] = proplists:get_value(data, lists:reverse(Misc)),
		ByPid = sys:get_state(P, 1000),
		Suspend = sys:suspend(S, 1000),
		io:format("~p~n", [{maps:get(node, State), maps:get(hooks, State), Ms < 100, maps:is_key(held_tasks, State2),
			ByPid =:= State, Suspend}])`, 20*time.Second)
	require.Equal(t, "{"+n.Name()+",1,true,true,true,{error,{unknown_system_msg,suspend}}}", strings.TrimSpace(out))
}

// TestOTPProbes: what a shell user tries on a node answers cleanly: spawn/4 gives a process that exits notsup,
// erpc:call with a fun fails with {erpc, notsup}, rpc of erlang:node/0 names the node; a send to an unknown
// name is logged at debug only.
func TestOTPProbes(t *testing.T) {
	requireErl(t)
	logs := &countingLog{}
	n, err := Start(context.Background(), Options{Name: uniqueName("go"), Cookie: testCookie, Engine: hookstest.Engine(t),
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	require.NoError(t, err)
	t.Cleanup(n.Stop)
	out := runErl(t, testCookie, n.Name(), `
		error_logger:tty(false),
		logger:set_primary_config(level, none),
		Spawned = spawn(Go, lists, reverse, [[1]]),
		Mon = monitor(process, Spawned),
		Exit = receive {'DOWN', Mon, _, _, R} -> R after 5000 -> timeout end,
		Fun = try erpc:call(Go, fun() -> node() end) catch C:E -> {C, E} end,
		Node = rpc:call(Go, erlang, node, []),
		ErpcNode = erpc:call(Go, erlang, node, [], 5000),
		{nobody_here, Go} ! hello,
		{ok, _} = gen_server:call({hornbeam_hooks, Go}, {find, <<"echo">>}, 5000),
		io:format("~p~n", [{Exit, Fun, Node =:= Go, ErpcNode =:= Go}])`, 20*time.Second)
	require.Equal(t, "{notsup,{error,{erpc,notsup}},true,true}", strings.TrimSpace(out))
	require.NotContains(t, logs.text(), "level=WARN", "logs:\n%s", logs.text())
}
