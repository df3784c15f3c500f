package node

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPing(t *testing.T) {
	requireErl(t)
	n := startNode(t, testEngine(t))
	out := runErl(t, testCookie, n.Name(), `io:format("~p~n", [net_adm:ping(Go)])`, 20*time.Second)
	require.Equal(t, "pong", strings.TrimSpace(out))
}

func TestGenCallEcho(t *testing.T) {
	requireErl(t)
	n := startNode(t, testEngine(t))
	out := runErl(t, testCookie, n.Name(), `
		R = gen_server:call({hornbeam_hooks, Go}, {execute, <<"echo">>, <<"echo">>, [{a, <<"b">>, 1}], #{}}, 5000),
		io:format("~p~n", [R])`, 20*time.Second)
	require.Equal(t, `{ok,{a,<<"b">>,1}}`, strings.TrimSpace(out))
}

func TestStream(t *testing.T) {
	requireErl(t)
	n := startNode(t, testEngine(t))
	out := runErl(t, testCookie, n.Name(), `
		{ok, Ref} = gen_server:call({hornbeam_hooks, Go}, {stream, <<"echo">>, <<"count">>, [200], #{}, #{window => 16}}, 5000),
		Loop = fun L(Acc, Got) ->
			receive
				{hornbeam_stream, Ref, {chunk, C}} ->
					case (Got + 1) rem 8 of
						0 -> {hornbeam_hooks, Go} ! {hornbeam_stream_credit, Ref, 8};
						_ -> ok
					end,
					L([C | Acc], Got + 1);
				{hornbeam_stream, Ref, done} -> lists:reverse(Acc);
				{hornbeam_stream, Ref, Other} -> {failed, Other}
			after 5000 -> {timeout, length(Acc)}
			end
		end,
		io:format("~p~n", [Loop([], 0) =:= lists:seq(0, 199)])`, 20*time.Second)
	require.Equal(t, "true", strings.TrimSpace(out))
}

func TestAsync(t *testing.T) {
	requireErl(t)
	n := startNode(t, testEngine(t))
	out := runErl(t, testCookie, n.Name(), `
		S = {hornbeam_hooks, Go},
		{ok, Id} = gen_server:call(S, {execute_async, <<"echo">>, <<"sleep">>, [200], #{}}, 5000),
		R1 = gen_server:call(S, {await_result, Id, 10}, 5000),
		R2 = gen_server:call(S, {await_result, Id, infinity}, 5000),
		R3 = gen_server:call(S, {cancel, <<"nope">>}, 5000),
		io:format("~p~n", [{R1, R2, R3}])`, 20*time.Second)
	require.Equal(t, `{{error,timeout},{ok,200},{error,{task_not_found,<<"nope">>}}}`, strings.TrimSpace(out))
}

func TestRPC(t *testing.T) {
	requireErl(t)
	n := startNode(t, testEngine(t))
	out := runErl(t, testCookie, n.Name(), `
		A = rpc:call(Go, hornbeam_hooks, execute, [<<"echo">>, <<"echo">>, [[1,2,3]], #{}]),
		B = erpc:call(Go, hornbeam_hooks, execute, [<<"echo">>, <<"echo">>, [x], #{}], 5000),
		C = rpc:call(Go, erlang, node, []),
		D = try erpc:call(Go, lists, reverse, [[1]]) catch Class:Reason -> {Class, Reason} end,
		E = gen_server:call({rex, Go}, {call, hornbeam_hooks, find, [<<"echo">>], group_leader()}, 5000),
		F = rpc:call(Go, hornbeam_hooks, all, []),
		io:format("~p~n", [[A, B, C, D, E, F]])`, 20*time.Second)
	require.Equal(t, `[{ok,[1,2,3]},
 {ok,x},
 {badrpc,{'EXIT',{undef,[{erlang,node,[],[]}]}}},
 {error,{exception,undef,[{lists,reverse,[[1]],[]}]}},
 {ok,#{app_path => <<"echo">>,kind => go}},
 {ok,[#{app_path => <<"echo">>,kind => go}]}]`, strings.TrimSpace(out))
}
