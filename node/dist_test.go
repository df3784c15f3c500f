package node

import (
	"strings"
	"testing"
	"time"

	"github.com/hornbeam-go/hornbeam/internal/hookstest"
	"github.com/stretchr/testify/require"
)

func TestPing(t *testing.T) {
	requireErl(t)
	n := startNode(t, hookstest.Engine(t))
	out := runErl(t, testCookie, n.Name(), `io:format("~p~n", [net_adm:ping(Go)])`, 20*time.Second)
	require.Equal(t, "pong", strings.TrimSpace(out))
}

func TestGenCallEcho(t *testing.T) {
	requireErl(t)
	n := startNode(t, hookstest.Engine(t))
	out := runErl(t, testCookie, n.Name(), `
		R = gen_server:call({hornbeam_hooks, Go}, {execute, <<"echo">>, <<"echo">>, [{a, <<"b">>, 1}], #{}}, 5000),
		io:format("~p~n", [R])`, 20*time.Second)
	require.Equal(t, `{ok,{a,<<"b">>,1}}`, strings.TrimSpace(out))
}

func TestStream(t *testing.T) {
	requireErl(t)
	n := startNode(t, hookstest.Engine(t))
	out := runErl(t, testCookie, n.Name(), `
		{ok, Ref} = gen_server:call({hornbeam_hooks, Go}, {stream, <<"echo">>, <<"count">>, [200], #{}, #{window => 16}}, 5000),
		Loop = fun L(Acc, Unacked) when Unacked >= 8 ->
				{hornbeam_hooks, Go} ! {hornbeam_stream_credit, Ref, Unacked},
				L(Acc, 0);
			L(Acc, Unacked) ->
			receive
				{hornbeam_stream, Ref, {chunk, C}} -> L([C | Acc], Unacked + 1);
				{hornbeam_stream, Ref, {chunks, Cs}} -> L(lists:reverse(Cs, Acc), Unacked + length(Cs));
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
	n := startNode(t, hookstest.Engine(t))
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
	n := startNode(t, hookstest.Engine(t))
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
 `+n.Name()+`,
 {error,{exception,undef,[{lists,reverse,[[1]],[]}]}},
 {ok,#{app_path => <<"echo">>,kind => go}},
 {ok,[#{app_path => <<"echo">>,kind => go}]}]`, strings.TrimSpace(out))
}

func TestEchoCorpus(t *testing.T) {
	requireErl(t)
	n := startNode(t, hookstest.Engine(t))
	out := runErl(t, testCookie, n.Name(), `
		Port = hd(erlang:ports()),
		Terms = [0, 1, -1, 255, 256, -256, 2147483647, -2147483648, 1 bsl 63, -(1 bsl 63), -(1 bsl 63) - 5,
			1 bsl 64, -(1 bsl 64), 1 bsl 1000, -(1 bsl 1000),
			1.5, -0.0, 0.0, 3.141592653589793, 1.0e300,
			a, '', 'hello world', 'ünïcödé', '日本',
			<<>>, <<"bin">>, <<1:1>>, <<1, 2, 3:5>>, <<255, 7:3>>,
			[], [1, 2, 3], "string", [256, 1000], [a | b], [1, 2 | 3], [[]], [<<"x">> | <<"y">>],
			{}, {a}, {a, {b, [c]}}, list_to_tuple(lists:seq(1, 300)),
			#{}, #{a => 1}, #{<<"k">> => 1, <<"j">> => [2]}, #{[1] => 2}, #{#{a => 1} => 3}, #{{t, 1} => x},
			#{1 => a, 1.0 => b}, maps:from_list([{I, I * I} || I <- lists:seq(1, 100)]),
			self(), make_ref(), alias(), Port, fun() -> ok end, fun lists:reverse/1, fun(X) -> {X, Port} end,
			{self(), [make_ref() | 1], #{self() => <<1:7>>}},
			binary:copy(<<7, 8, 9>>, 100000)],
		Bad = [I || {I, T} <- lists:zip(lists:seq(1, length(Terms)), Terms),
			gen_server:call({hornbeam_hooks, Go}, {execute, <<"echo">>, <<"echo">>, [T], #{}}, 10000) =/= {ok, T}],
		Big = binary:copy(<<"0123456789">>, 1024 * 1024),
		BigOK = gen_server:call({hornbeam_hooks, Go}, {execute, <<"echo">>, <<"echo">>, [Big], #{}}, 20000) =:= {ok, Big},
		io:format("~p~n", [{Bad, BigOK}])`, 60*time.Second)
	require.Equal(t, "{[],true}", strings.TrimSpace(out))
}

func TestErlangHandler(t *testing.T) {
	requireErl(t)
	n := startNode(t, hookstest.Engine(t))
	out := runErl(t, testCookie, n.Name(), `
		S = {hornbeam_hooks, Go},
		Loop = fun L() ->
			receive
				{'$gen_call', {Pid, Tag}, {hornbeam_handle, _AP, <<"fail">>, _, _, _}} ->
					Pid ! {Tag, {error, nope}}, L();
				{'$gen_call', {Pid, Tag}, {hornbeam_handle, AP, Action, Args, Kw, _Opts}} ->
					Pid ! {Tag, {ok, {AP, Action, Args, Kw}}}, L();
				{'$gen_call', {Pid, Tag}, {hornbeam_handle_stream, _, _, [N], _, _}} ->
					Ref = make_ref(),
					Pid ! {Tag, {ok, Ref, self()}},
					Pid ! {hornbeam_stream, Ref, {chunks, lists:seq(1, N - 1)}},
					Pid ! {hornbeam_stream, Ref, {chunk, N}},
					Pid ! {hornbeam_stream, Ref, done},
					L();
				stop -> ok;
				_ -> L()
			end
		end,
		H = spawn(Loop),
		ok = gen_server:call(S, {reg, <<"erl">>, {erlang, H}}, 5000),
		A = gen_server:call(S, {execute, <<"erl">>, <<"act">>, [1], #{k => v}}, 5000),
		B = gen_server:call(S, {execute, <<"erl">>, <<"fail">>, [], #{}}, 5000),
		C = gen_server:call(S, {find, <<"erl">>}, 5000),
		{ok, SRef} = gen_server:call(S, {stream, <<"erl">>, <<"gen">>, [5], #{}}, 5000),
		Collect = fun Co(Acc) ->
			receive
				{hornbeam_stream, SRef, {chunk, X}} -> Co([X | Acc]);
				{hornbeam_stream, SRef, {chunks, Xs}} -> Co(lists:reverse(Xs, Acc));
				{hornbeam_stream, SRef, done} -> lists:reverse(Acc)
			after 5000 -> timeout
			end
		end,
		D = Collect([]),
		H ! stop,
		timer:sleep(300),
		E = gen_server:call(S, {find, <<"erl">>}, 5000),
		io:format("~p~n", [{A, B, C =:= {ok, #{app_path => <<"erl">>, kind => erlang}}, D, E}])`, 20*time.Second)
	require.Equal(t, `{{ok,{<<"erl">>,<<"act">>,[1],#{k => v}}},
 {error,nope},
 true,
 [1,2,3,4,5],
 {error,{not_found,<<"erl">>}}}`, strings.TrimSpace(out))
}
