%% @doc The client of bench/services.sh: the same sequential echo call through hornbeam_hooks, through a named
%% service ({demo_echo, Go}, from --expose demo.echo=demo_echo) and through the hook's pg member, alternating in
%% one run, with the service/hornbeam_hooks ratios.
-module(hb_services_bench).

%% API.
-export([main/1]).

-define(ROUNDS, 5).
-define(CALLS, 5000).

%% API.

-spec main([string()]) -> no_return().
main([GoName]) ->
	Go = list_to_atom(GoName),
	pong = net_adm:ping(Go),
	{ok, _} = pg:start(hornbeam),
	Member = member(Go, 200),
	Paths = [
		{hooks, fun(X) -> {ok, X} = gen_server:call({hornbeam_hooks, Go}, {execute, <<"demo.echo">>, <<"echo">>, [X], #{}}) end},
		{named, fun(X) -> X = gen_server:call({demo_echo, Go}, {echo, X}) end},
		{member, fun(X) -> X = gen_server:call(Member, {echo, X}) end}
	],
	[[Call(I) || I <- lists:seq(1, 2000)] || {_, Call} <- Paths],
	Runs = [{Kind, latencies(Call)} || _ <- lists:seq(1, ?ROUNDS), {Kind, Call} <- Paths],
	io:format("~-34s ~10s ~10s ~10s~n", ["sequential echo, median of rounds", "p50 (us)", "p99 (us)", "p50/hooks"]),
	Hooks = median([P50 || {hooks, {P50, _}} <- Runs]),
	[begin
		P50 = median([P || {K, {P, _}} <- Runs, K =:= Kind]),
		P99 = median([P || {K, {_, P}} <- Runs, K =:= Kind]),
		io:format("~-34s ~10.1f ~10.1f ~10.2f~n", [Name, P50, P99, P50 / Hooks])
	end || {Kind, Name} <- [{hooks, "hornbeam_hooks execute"}, {named, "named service {demo_echo, Go}"},
		{member, "pg member of <<\"demo.echo\">>"}]],
	halt(0).

%% Internal.

member(Go, 0) ->
	error({no_pg_member, Go});
member(Go, N) ->
	case [P || P <- pg:get_members(hornbeam, <<"demo.echo">>), node(P) =:= Go] of
		[P] -> P;
		[] -> timer:sleep(10), member(Go, N - 1)
	end.

%% latencies returns the p50 and p99, in microseconds, of ?CALLS sequential calls.
latencies(Call) ->
	L = lists:sort([begin
		T0 = erlang:monotonic_time(nanosecond),
		Call(I),
		erlang:monotonic_time(nanosecond) - T0
	end || I <- lists:seq(1, ?CALLS)]),
	{lists:nth(?CALLS div 2, L) / 1000, lists:nth(?CALLS * 99 div 100, L) / 1000}.

median(L) ->
	lists:nth((length(L) + 1) div 2, lists:sort(L)).
