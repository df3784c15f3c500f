%% Services of the real Go node (the binary named by HORNBEAM_BIN, else built from ./cmd/hornbeam), run with
%% `--expose demo.calculator=calc --expose demo.echo': the client with `nodes' unset finds it through OTP pg (the
%% groups `hornbeam_hooks' and `<<AppPath>>'), its named services answer gen_server calls, and Debian's `elixir'
%% reaches one with GenServer.call.
-module(hornbeam_services_tests).
-include_lib("eunit/include/eunit.hrl").
-import(hornbeam_test_lib, [bin/0, discovery_env/0, ensure_distributed/0, wait_until/1]).

services_test_() ->
    {setup, fun start/0, fun stop/1, fun(Node) -> [
        {"the client with nodes unset finds the Go node through pg", fun() -> discovered(Node) end},
        {"the named services and the pg member answer gen_server calls", fun() -> named(Node) end},
        {timeout, 120, {"Elixir's GenServer.call reaches an exposed hook", fun() -> elixir(Node) end}}
    ] end}.

%% Fixture.

start() ->
    ok = ensure_distributed(),
    ok = discovery_env(),
    {ok, _} = application:ensure_all_started(hornbeam_hooks),
    Node = list_to_atom(lists:concat(["hbsvc_", os:getpid(), "@localhost"])),
    Log = filename:join(filename:dirname(code:which(?MODULE)), atom_to_list(Node) ++ ".log"),
    Cmd = lists:flatten(io_lib:format("~ts --sname ~ts --expose demo.calculator=calc --expose demo.echo >~ts 2>&1 & echo $!",
        [bin(), Node, Log])),
    persistent_term:put({?MODULE, Node}, string:trim(os:cmd(Cmd))),
    true = wait_until(fun() -> net_adm:ping(Node) =:= pong end),
    Node.

stop(Node) ->
    ok = application:stop(hornbeam_hooks),
    ok = application:unset_env(hornbeam_hooks, seed),
    _ = os:cmd("kill -9 " ++ persistent_term:get({?MODULE, Node})),
    true = wait_until(fun() -> not lists:member(Node, nodes(connected)) end),
    ok.

%% Tests.

discovered(Node) ->
    Member = fun(G) -> lists:member(Node, [node(P) || P <- pg:get_members(hornbeam, G)]) end,
    ?assert(wait_until(fun() -> Member(hornbeam_hooks) andalso Member(<<"demo.calculator">>) end)),
    ?assertEqual(Node, hd(hornbeam_hooks_nodes:candidates(<<"demo.calculator">>))),
    ?assertEqual({ok, 3}, hornbeam_hooks:execute(<<"demo.calculator">>, <<"add">>, [1, 2], #{})).

named(Node) ->
    ?assertEqual(5, gen_server:call({calc, Node}, {add, 2, 3}, 1000)),
    ?assertEqual(20, gen_server:call({calc, Node}, {<<"multiply">>, 4, 5}, 1000)),
    ?assertMatch({error, {badarith, _}}, gen_server:call({calc, Node}, {divide, 1, 0}, 1000)),
    ?assertMatch({error, {badarg, _}}, gen_server:call({calc, Node}, {}, 1000)),
    Term = {x, [1, <<"two">>], #{three => 3.0}, self()},
    ?assertEqual(Term, gen_server:call({'demo.echo', Node}, {echo, Term}, 1000)),
    [Pid] = [P || P <- pg:get_members(hornbeam, <<"demo.calculator">>), node(P) =:= Node],
    ?assertEqual(42, gen_server:call(Pid, {add, 40, 2}, 1000)).

%% A new `elixir' node makes the call the issue promises.
elixir(Node) ->
    Code = lists:flatten(io_lib:format("IO.inspect(GenServer.call({:calc, :\"~ts\"}, {:add, 1, 2}))", [Node])),
    Cmd = lists:flatten(io_lib:format("elixir --sname hbsvcex_~ts --cookie ~ts -e '~ts' 2>&1; echo \"exit=$?\"",
        [os:getpid(), erlang:get_cookie(), Code])),
    ?assertEqual("3\nexit=0\n", os:cmd(Cmd)).
