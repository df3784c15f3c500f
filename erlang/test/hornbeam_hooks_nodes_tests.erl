%% Finding Go nodes through OTP pg, spreading calls over them and failing over, against two fake Go nodes
%% (hornbeam_fake_node on peer nodes) that join the scope's groups as real Go nodes do.
-module(hornbeam_hooks_nodes_tests).
-include_lib("eunit/include/eunit.hrl").
-import(hornbeam_test_lib, [discovery_env/0, ensure_distributed/0, wait_until/1]).

discovery_test_() ->
    {setup, fun start/0, fun stop/1, fun(Nodes) -> [
        {"calls spread over the members of the path's group", fun() -> spread(Nodes) end},
        {"a path served by one node goes there", fun() -> only_here(Nodes) end},
        {"Erlang handlers are registered with every node found", fun() -> registered(Nodes) end},
        {"async tasks are awaited on the node that started them", fun tasks/0},
        {"a static nodes list is kept", fun() -> static(Nodes) end},
        {timeout, 30, {"a node going down fails over", fun() -> failover(Nodes) end}}
    ] end}.

start() ->
    ok = ensure_distributed(),
    ok = discovery_env(),
    Nodes = [fake_node(I) || I <- [1, 2]],
    [ok = join(N, [hornbeam_hooks, <<"demo.echo">>]) || N <- Nodes],
    ok = join(hd(Nodes), [<<"only.here">>]),
    {ok, _} = application:ensure_all_started(hornbeam_hooks),
    true = wait_until(fun() -> length(pg:get_members(hornbeam, <<"demo.echo">>)) =:= 2 end),
    Nodes.

stop(Nodes) ->
    ok = application:stop(hornbeam_hooks),
    ok = application:unset_env(hornbeam_hooks, seed),
    [catch peer:stop(persistent_term:get({?MODULE, N})) || N <- Nodes],
    ok.

fake_node(I) ->
    Name = lists:concat(["hbpg", I, "_", os:getpid()]),
    Dir = filename:dirname(code:which(hornbeam_fake_node)),
    {ok, Peer, Node} = peer:start(#{name => Name, host => "localhost", args => ["-pa", Dir]}),
    persistent_term:put({?MODULE, Node}, Peer),
    ok = erpc:call(Node, hornbeam_fake_node, start, []),
    Node.

%% What a Go node does: its scope process runs, and its server (here the fake) is a member of the groups.
join(Node, Groups) ->
    erpc:call(Node, fun() ->
        _ = pg:start(hornbeam),
        Pid = whereis(hornbeam_hooks),
        [ok = pg:join(hornbeam, G, Pid) || G <- Groups],
        ok
    end).

spread(Nodes) ->
    Served = [begin
        {reply, Node, Reply} = hornbeam_hooks_nodes:call(<<"demo.echo">>, {execute, <<"demo.echo">>, <<"echo">>, [I], #{}}, 1000),
        ?assertEqual({ok, I}, Reply),
        Node
    end || I <- lists:seq(1, 40)],
    ?assertEqual(lists:sort(Nodes), lists:usort(Served)),
    ?assertEqual({ok, 7}, hornbeam_hooks:execute(<<"demo.echo">>, <<"echo">>, [7], #{})).

only_here([First | _]) ->
    ?assertEqual(First, hd(hornbeam_hooks_nodes:candidates(<<"only.here">>))).

registered(Nodes) ->
    ok = hornbeam_hooks:reg(<<"everywhere">>, fun(_, Args, _) -> {node(), Args} end),
    [?assertEqual({ok, #{app_path => <<"everywhere">>, kind => erlang}},
        gen_server:call({hornbeam_hooks, N}, {find, <<"everywhere">>}, 1000)) || N <- Nodes],
    ok = hornbeam_hooks:unreg(<<"everywhere">>).

tasks() ->
    Ids = [begin {ok, Id} = hornbeam_hooks:execute_async(<<"demo.echo">>, <<"echo">>, [I], #{}), {I, Id} end
        || I <- lists:seq(1, 10)],
    [?assertEqual({ok, I}, hornbeam_hooks:await_result(Id, 1000)) || {I, Id} <- Ids].

static(Nodes = [_, Second]) ->
    ok = application:set_env(hornbeam_hooks, nodes, [Second]),
    try
        ?assertEqual([Second], hornbeam_hooks_nodes:candidates(<<"only.here">>)),
        ?assertMatch({reply, Second, {ok, 1}},
            hornbeam_hooks_nodes:call(<<"demo.echo">>, {execute, <<"demo.echo">>, <<"echo">>, [1], #{}}, 1000))
    after
        ok = application:unset_env(hornbeam_hooks, nodes)
    end,
    ?assertEqual(lists:sort(Nodes), lists:sort(hornbeam_hooks_nodes:candidates(<<"demo.echo">>) -- [seed()])).

failover([First, Second]) ->
    Self = self(),
    Caller = spawn_link(fun() -> Self ! {results, calls(1, [])} end),
    timer:sleep(50),
    ok = peer:stop(persistent_term:get({?MODULE, First})),
    Stopped = erlang:monotonic_time(),
    timer:sleep(50),
    Caller ! stop,
    Results = receive {results, R} -> lists:reverse(R) after 20000 -> error(no_results) end,
    ?assertEqual([{ok, I} || I <- lists:seq(1, length(Results))], [Reply || {_, Reply} <- Results]),
    ?assert(length([T || {T, _} <- Results, T > Stopped]) > 10),
    ?assert(wait_until(fun() -> [Second] =:= hornbeam_hooks_nodes:candidates(<<"demo.echo">>) -- [seed()] end)),
    unlink(Caller).

%% Calls demo.echo with 1, 2, ... until told to stop; each result with the time it came.
calls(I, Acc) ->
    receive
        stop -> Acc
    after 0 ->
        Reply = hornbeam_hooks:execute(<<"demo.echo">>, <<"echo">>, [I], #{}),
        calls(I + 1, [{erlang:monotonic_time(), Reply} | Acc])
    end.

seed() ->
    application:get_env(hornbeam_hooks, seed, undefined).
