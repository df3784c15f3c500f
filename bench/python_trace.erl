%% @doc The Erlang client of bench/python_trace.sh: sequential Erlang -> Go ->
%% Python execute echo calls of py.bench, each stamped before and after with
%% os:perf_counter(nanosecond) (CLOCK_MONOTONIC, as the node's and the
%% worker's stamps), written one "before after" line per call.
-module(python_trace).

%% API.
-export([main/1]).

-define(WARMUP, 500).

%% API.

-spec main([string()]) -> no_return().
main([Go, Calls, Out]) ->
	Node = list_to_atom(Go),
	pong = net_adm:ping(Node),
	[echo(Node, I) || I <- lists:seq(1, ?WARMUP)],
	Stamps = [begin
		T0 = os:perf_counter(nanosecond),
		echo(Node, I),
		{T0, os:perf_counter(nanosecond)}
	end || I <- lists:seq(1, list_to_integer(Calls))],
	ok = file:write_file(Out, [io_lib:format("~b ~b~n", [A, B]) || {A, B} <- Stamps]),
	halt(0).

%% Internal.

-spec echo(node(), integer()) -> integer().
echo(Node, X) ->
	{ok, X} = gen_server:call({hornbeam_hooks, Node}, {execute, <<"py.bench">>, <<"echo">>, [X], #{}}, 30000),
	X.
