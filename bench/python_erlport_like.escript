#!/usr/bin/env escript
%% The Erlang side of the erlport-like baseline of bench/python.sh: an Erlang
%% process owns a port to bench/python_erlport_like.py (nouse_stdio, so fds 3
%% and 4 as erlport uses) and callers reach it with gen_server:call, as
%% erlport's python:call does. Prints p50 and p99 in microseconds of
%% Erlang -> Python echo calls, and of a bare frame ping-pong on the port.
%% Usage: escript bench/python_erlport_like.escript PYTHON CALLS

-define(WARMUP, 500).

main([Python, Calls]) ->
	N = list_to_integer(Calls),
	Script = filename:join(filename:dirname(escript:script_name()), "python_erlport_like.py"),
	Owner = start(Python ++ " " ++ Script),
	Call = fun(I) -> {ok, {r, I, <<"hello">>}} = gen_server:call(Owner, {call, {'C', I, '__main__', echo, [<<"hello">>]}}, infinity) end,
	report("erlport_like", time_calls(Call, N)),
	Bare = start(Python ++ " " ++ Script ++ " --bare"),
	Frame = term_to_binary({'C', 1, '__main__', echo, [<<"hello">>]}),
	Ping = fun(_) -> {ok, Frame} = gen_server:call(Bare, {raw, Frame}, infinity) end,
	report("erlang_port_bare", time_calls(Ping, N)),
	halt(0).

start(Cmd) ->
	Parent = self(),
	Pid = spawn_link(fun() ->
		Port = open_port({spawn, Cmd}, [{packet, 4}, binary, nouse_stdio]),
		Parent ! {self(), ready},
		loop(Port)
	end),
	receive {Pid, ready} -> Pid end.

loop(Port) ->
	receive
		{'$gen_call', From, {call, Term}} ->
			true = port_command(Port, term_to_binary(Term)),
			receive {Port, {data, Data}} -> gen_server:reply(From, {ok, binary_to_term(Data)}) end;
		{'$gen_call', From, {raw, Frame}} ->
			true = port_command(Port, Frame),
			receive {Port, {data, Data}} -> gen_server:reply(From, {ok, Data}) end
	end,
	loop(Port).

time_calls(Call, N) ->
	[Call(I) || I <- lists:seq(1, ?WARMUP)],
	lists:sort([begin
		T0 = erlang:monotonic_time(nanosecond),
		Call(I),
		erlang:monotonic_time(nanosecond) - T0
	end || I <- lists:seq(1, N)]).

report(Name, Sorted) ->
	Len = length(Sorted),
	P = fun(Q) -> lists:nth(max(1, min(Len, round(Q * Len))), Sorted) / 1000 end,
	io:format("~s p50_us ~.2f~n~s p99_us ~.2f~n", [Name, P(0.50), Name, P(0.99)]).
