#!/usr/bin/env escript
%% The real-erlport baseline of bench/python.sh: erlport's python:call of the
%% echo function of bench/python_erlport_like.py, Erlang -> Python over
%% erlport's own port protocol. Prints p50 and p99 in microseconds.
%% Usage: escript bench/python_erlport.escript ERLPORT_DIR PYTHON CALLS
%% (ERLPORT_DIR: an erlport checkout with its modules compiled into ebin/)

-define(WARMUP, 500).

main([Dir, Python, Calls]) ->
	N = list_to_integer(Calls),
	true = code:add_patha(filename:join(Dir, "ebin")),
	ok = application:start(erlport),
	Bench = filename:absname(filename:dirname(escript:script_name())),
	Path = [Bench, filename:join(filename:dirname(Bench), "python")],
	{ok, P} = python:start([{python, Python}, {python_path, Path}]),
	Call = fun() -> <<"hello">> = python:call(P, python_erlport_like, echo, [<<"hello">>]) end,
	[Call() || _ <- lists:seq(1, ?WARMUP)],
	Sorted = lists:sort([begin
		T0 = erlang:monotonic_time(nanosecond),
		Call(),
		erlang:monotonic_time(nanosecond) - T0
	end || _ <- lists:seq(1, N)]),
	P50 = lists:nth(max(1, round(0.50 * N)), Sorted) / 1000,
	P99 = lists:nth(max(1, round(0.99 * N)), Sorted) / 1000,
	io:format("erlport p50_us ~.2f~nerlport p99_us ~.2f~n", [P50, P99]),
	halt(0).
