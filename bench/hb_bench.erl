%% @doc The client of bench/dist.sh: measures the same echo and stream calls
%% against a BEAM node and the Go node, alternating in one run, and prints the
%% Go/BEAM ratios.
-module(hb_bench).

%% API.
-export([main/1]).

-define(ROUNDS, 3).
-define(SEQ_CALLS, 5000).
-define(CALLERS, 32).
-define(THROUGHPUT_MS, 2000).
-define(MB_CALLS, 40).
-define(STREAM_CHUNKS, 100000).
-define(WINDOW, 256).

%% API.

-spec main([string()]) -> no_return().
main([Beam, Go]) ->
	Targets = [{beam, list_to_atom(Beam)}, {go, list_to_atom(Go)}],
	[pong = net_adm:ping(Node) || {_, Node} <- Targets],
	[warm(Node) || {_, Node} <- Targets],
	Metrics = [
		{"sequential echo p50 (us)", fun seq_p50/1, lower, 0.8},
		{"sequential echo p99 (us)", fun seq_p99/1, lower, none},
		{"4 callers (calls/s)", fun(Node) -> throughput(Node, 4) end, higher, none},
		{"8 callers (calls/s)", fun(Node) -> throughput(Node, 8) end, higher, none},
		{"16 callers (calls/s)", fun(Node) -> throughput(Node, 16) end, higher, none},
		{"32 callers (calls/s)", fun(Node) -> throughput(Node, ?CALLERS) end, higher, 1.3},
		{"1 MB echo p50 (us)", fun mb_p50/1, lower, 1.0},
		{"stream (chunks/s)", fun stream_rate/1, higher, none},
		{"pull per chunk (calls/s)", fun pull_rate/1, higher, none}
	],
	io:format("~-28s ~14s ~14s ~8s ~s~n", ["metric", "beam", "go", "go/beam", "target"]),
	Results = [measure(M, Targets) || M <- Metrics],
	[report(R) || R <- Results],
	{_, _, StreamGo} = lists:keyfind("stream (chunks/s)", 1, [{N, B, G} || {N, B, G, _, _} <- Results]),
	{_, _, PullGo} = lists:keyfind("pull per chunk (calls/s)", 1, [{N, B, G} || {N, B, G, _, _} <- Results]),
	io:format("~-28s ~14s ~14.1f ~8s ~s~n", ["go stream / go pull", "", StreamGo / PullGo, "", ">= 20"]),
	halt(0).

%% Internal.

measure({Name, Fun, Better, Target}, Targets) ->
	Runs = [{Kind, Fun(Node)} || _ <- lists:seq(1, ?ROUNDS), {Kind, Node} <- Targets],
	Beam = median([V || {beam, V} <- Runs]),
	Go = median([V || {go, V} <- Runs]),
	{Name, Beam, Go, Better, Target}.

report({Name, Beam, Go, Better, Target}) ->
	Ratio = Go / Beam,
	Verdict = case {Target, Better} of
		{none, _} -> "";
		{T, lower} when Ratio =< T -> io_lib:format("<= ~.2f met", [T]);
		{T, lower} -> io_lib:format("<= ~.2f MISSED", [T]);
		{T, higher} when Ratio >= T -> io_lib:format(">= ~.2f met", [T]);
		{T, higher} -> io_lib:format(">= ~.2f MISSED", [T])
	end,
	io:format("~-28s ~14.1f ~14.1f ~8.2f ~s~n", [Name, float(Beam), float(Go), Ratio, Verdict]).

median(L) ->
	lists:nth((length(L) + 1) div 2, lists:sort(L)).

call(Node, Req) ->
	gen_server:call({hornbeam_hooks, Node}, Req, 30000).

echo(Node, X) ->
	{ok, X} = call(Node, {execute, <<"demo.echo">>, <<"echo">>, [X], #{}}).

warm(Node) ->
	[echo(Node, I) || I <- lists:seq(1, 2000)],
	ok.

latencies(Node, N, X) ->
	lists:sort([begin
		T0 = erlang:monotonic_time(nanosecond),
		echo(Node, X),
		erlang:monotonic_time(nanosecond) - T0
	end || _ <- lists:seq(1, N)]).

percentile(Sorted, P) ->
	lists:nth(max(1, round(P * length(Sorted))), Sorted) / 1000.

seq_p50(Node) -> percentile(latencies(Node, ?SEQ_CALLS, <<"hello">>), 0.50).

seq_p99(Node) -> percentile(latencies(Node, ?SEQ_CALLS, <<"hello">>), 0.99).

mb_p50(Node) -> percentile(latencies(Node, ?MB_CALLS, binary:copy(<<"x">>, 1 bsl 20)), 0.50).

throughput(Node, Callers) ->
	Parent = self(),
	Deadline = erlang:monotonic_time(millisecond) + ?THROUGHPUT_MS,
	Pids = [spawn_link(fun() -> Parent ! {done, self(), loop_calls(Node, Deadline, 0)} end)
		|| _ <- lists:seq(1, Callers)],
	Total = lists:sum([receive {done, Pid, N} -> N end || Pid <- Pids]),
	Total * 1000 / ?THROUGHPUT_MS.

pull_rate(Node) ->
	Deadline = erlang:monotonic_time(millisecond) + ?THROUGHPUT_MS,
	loop_calls(Node, Deadline, 0) * 1000 / ?THROUGHPUT_MS.

loop_calls(Node, Deadline, N) ->
	case erlang:monotonic_time(millisecond) >= Deadline of
		true -> N;
		false -> echo(Node, N), loop_calls(Node, Deadline, N + 1)
	end.

stream_rate(Node) ->
	T0 = erlang:monotonic_time(microsecond),
	{ok, Ref} = call(Node, {stream, <<"demo.counter">>, <<"count">>, [?STREAM_CHUNKS], #{}}),
	?STREAM_CHUNKS = consume(Node, Ref, 0, 0),
	?STREAM_CHUNKS * 1000000 / (erlang:monotonic_time(microsecond) - T0).

consume(Node, Ref, Count, Unacked) when Unacked >= ?WINDOW div 2 ->
	{hornbeam_hooks, Node} ! {hornbeam_stream_credit, Ref, Unacked},
	consume(Node, Ref, Count, 0);
consume(Node, Ref, Count, Unacked) ->
	receive
		{hornbeam_stream, Ref, {chunk, _}} -> consume(Node, Ref, Count + 1, Unacked + 1);
		{hornbeam_stream, Ref, {chunks, Chunks}} ->
			N = length(Chunks),
			consume(Node, Ref, Count + N, Unacked + N);
		{hornbeam_stream, Ref, done} -> Count;
		{hornbeam_stream, Ref, {error, Reason}} -> error({stream_failed, Reason})
	after 10000 -> error({stream_stalled, Count})
	end.
