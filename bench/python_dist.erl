%% @doc The Erlang client of bench/python.sh: Erlang -> Go -> Python calls and
%% streams of the hook py.bench (bench/python_hooks.py) on a hornbeam node
%% running Python workers. Prints one "name unit value" line per metric.
-module(python_dist).

%% API.
-export([main/1]).

-define(CALLS, 5000).
-define(PULL_MS, 1000).
-define(STREAM_CHUNKS, 50000).
-define(WINDOW, 256).

%% API.

-spec main([string()]) -> no_return().
main([Go]) ->
	Node = list_to_atom(Go),
	pong = net_adm:ping(Node),
	[echo(Node, I) || I <- lists:seq(1, 500)],
	_ = stream_rate(Node, 1000),
	Sorted = lists:sort([begin
		T0 = erlang:monotonic_time(nanosecond),
		echo(Node, I),
		erlang:monotonic_time(nanosecond) - T0
	end || I <- lists:seq(1, ?CALLS)]),
	io:format("dist_execute p50_us ~.2f~n", [percentile(Sorted, 0.50)]),
	io:format("dist_execute p99_us ~.2f~n", [percentile(Sorted, 0.99)]),
	io:format("dist_stream chunks_s ~.1f~n", [stream_rate(Node, ?STREAM_CHUNKS)]),
	io:format("dist_pull calls_s ~.1f~n", [pull_rate(Node)]),
	halt(0).

%% Internal.

-spec call(node(), tuple()) -> term().
call(Node, Req) ->
	gen_server:call({hornbeam_hooks, Node}, Req, 30000).

-spec echo(node(), term()) -> term().
echo(Node, X) ->
	{ok, X} = call(Node, {execute, <<"py.bench">>, <<"echo">>, [X], #{}}).

-spec percentile([integer()], float()) -> float().
percentile(Sorted, P) ->
	lists:nth(max(1, round(P * length(Sorted))), Sorted) / 1000.

-spec pull_rate(node()) -> float().
pull_rate(Node) ->
	Deadline = erlang:monotonic_time(millisecond) + ?PULL_MS,
	pull(Node, Deadline, 0) * 1000 / ?PULL_MS.

-spec pull(node(), integer(), non_neg_integer()) -> non_neg_integer().
pull(Node, Deadline, N) ->
	case erlang:monotonic_time(millisecond) >= Deadline of
		true -> N;
		false -> echo(Node, N), pull(Node, Deadline, N + 1)
	end.

-spec stream_rate(node(), pos_integer()) -> float().
stream_rate(Node, N) ->
	T0 = erlang:monotonic_time(microsecond),
	{ok, Ref} = call(Node, {stream, <<"py.bench">>, <<"count">>, [N], #{}}),
	N = consume(Node, Ref, 0, 0),
	N * 1000000 / max(1, erlang:monotonic_time(microsecond) - T0).

-spec consume(node(), reference(), non_neg_integer(), non_neg_integer()) -> non_neg_integer().
consume(Node, Ref, Count, Unacked) when Unacked >= ?WINDOW div 2 ->
	{hornbeam_hooks, Node} ! {hornbeam_stream_credit, Ref, Unacked},
	consume(Node, Ref, Count, 0);
consume(Node, Ref, Count, Unacked) ->
	receive
		{hornbeam_stream, Ref, {chunk, _}} -> consume(Node, Ref, Count + 1, Unacked + 1);
		{hornbeam_stream, Ref, {chunks, Chunks}} ->
			K = length(Chunks),
			consume(Node, Ref, Count + K, Unacked + K);
		{hornbeam_stream, Ref, done} -> Count;
		{hornbeam_stream, Ref, {error, Reason}} -> error({stream_failed, Reason})
	after 10000 -> error({stream_stalled, Count})
	end.
