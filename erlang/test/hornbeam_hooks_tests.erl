%% The hooks guide's Erlang snippets, node failures, timeouts and bad requests, run against a Go node.
%%
%% The Go node is first `hornbeam_fake_node' on a peer node (docs/protocol.md served in Erlang), then the real
%% one: the binary named by the environment variable HORNBEAM_BIN, else `go build ./cmd/hornbeam' at the root of
%% the repository, run as `hornbeam --sname Node'. The guide's Python services (embeddings, ml, llm, classifier)
%% are stood in for by Erlang handlers registered here, so every call goes through the Go node and back.
-module(hornbeam_hooks_tests).
-include_lib("eunit/include/eunit.hrl").
-import(hornbeam_test_lib, [bin/0, ensure_distributed/0, wait_until/1]).

fake_node_test_() ->
    {setup, fun() -> start(fake) end, fun stop/1, fun(Ctx) -> tests(Ctx) ++ [
        {"a refused registration is taken back", fun refused/0},
        {"a stream closes on the Go side when its consumer exits",
            fun() -> relay_closed(Ctx) end},
        {timeout, 30, {"the Go server restarting", fun() -> go_server_restart(Ctx) end}},
        {timeout, 30, {"two Go nodes", fun() -> two_nodes(Ctx) end}}
    ] end}.

go_node_test_() ->
    {setup, fun() -> start(go) end, fun stop/1, fun tests/1}.

tests(Ctx) ->
    [{"the API starts the application", fun starts_application/0},
     {"guide: calculator fun", fun calculator/0},
     {"guide: my_handler module", fun module_handler/0},
     {"guide: numbers from a list", fun numbers/0},
     {"guide: counter from a fun", fun counter/0},
     {"stand-ins for the guide's Python services", fun stand_ins/0},
     {"guide: calling from Erlang", fun calling/0},
     {"guide: auth service", fun auth/0},
     {"guide: handle_request", fun request_handler/0},
     {"find, all, unreg", fun registry/0},
     {"bad requests", fun() -> bad_requests(Ctx) end},
     {"handler errors", fun handler_errors/0},
     {"timeouts", fun timeouts/0},
     {"tasks", fun tasks/0},
     {"a producer stops when its consumer exits", fun consumer_exit/0},
     {timeout, 30, {"a restarted local server registers again", fun server_restart/0}},
     {timeout, 60, {"the Go node going down and coming back", fun() -> node_restart(Ctx) end}}].

%% Fixture: the Go node as a context `#{kind, node}'; its handle (peer, or OS pid) is kept in a persistent term.

start(Kind) ->
    ok = ensure_distributed(),
    Node = node_name(Kind),
    Ctx = case Kind of
        fake -> #{kind => fake, node => Node};
        go -> #{kind => go, node => Node, bin => bin()}
    end,
    ok = up(Ctx),
    _ = application:load(hornbeam_hooks),
    ok = application:set_env(hornbeam_hooks, nodes, [Node]),
    ok = application:set_env(hornbeam_hooks, timeout, 2000),
    Ctx.

stop(Ctx) ->
    ok = application:stop(hornbeam_hooks),
    down(Ctx).

node_name(Kind) ->
    list_to_atom(lists:concat(["hb", Kind, "_", os:getpid(), "@localhost"])).


up(#{kind := fake, node := Node}) ->
    [Name, Host] = string:split(atom_to_list(Node), "@"),
    Dir = filename:dirname(code:which(hornbeam_fake_node)),
    {ok, Peer, Node} = peer:start(#{name => Name, host => Host, args => ["-pa", Dir, "-connect_all", "false"]}),
    persistent_term:put({?MODULE, Node}, Peer),
    erpc:call(Node, hornbeam_fake_node, start, []);
up(#{kind := go, node := Node, bin := Bin}) ->
    Log = filename:join(filename:dirname(code:which(?MODULE)), atom_to_list(Node) ++ ".log"),
    Cmd = lists:flatten(io_lib:format("~ts --sname ~ts >~ts 2>&1 & echo $!", [Bin, Node, Log])),
    persistent_term:put({?MODULE, Node}, string:trim(os:cmd(Cmd))),
    true = wait_until(fun() -> net_adm:ping(Node) =:= pong end),
    ok.

down(#{kind := fake, node := Node}) ->
    peer:stop(persistent_term:get({?MODULE, Node}));
down(#{kind := go, node := Node}) ->
    _ = os:cmd("kill -9 " ++ persistent_term:get({?MODULE, Node})),
    true = wait_until(fun() -> not lists:member(Node, nodes(connected)) end),
    ok.

%% The guide's snippets.

starts_application() ->
    ?assertNot(lists:keymember(hornbeam_hooks, 1, application:which_applications())),
    ?assertEqual({ok, 1}, hornbeam_hooks:execute(<<"demo.echo">>, <<"echo">>, [1], #{})),
    ?assert(lists:keymember(hornbeam_hooks, 1, application:which_applications())).

calculator() ->
    ok = reg_calculator(),
    ?assertEqual({ok, 5}, hornbeam_hooks:execute(<<"calculator">>, <<"add">>, [2, 3], #{})),
    ?assertEqual({ok, 12}, hornbeam_hooks:execute(<<"calculator">>, <<"multiply">>, [3, 4], #{})),
    ?assertEqual({error, unknown_action}, hornbeam_hooks:execute(<<"calculator">>, <<"divide">>, [3, 4], #{})).

reg_calculator() ->
    hornbeam_hooks:reg(<<"calculator">>, fun(Action, Args, _Kwargs) ->
        case Action of
            <<"add">> ->
                [A, B] = Args,
                A + B;
            <<"multiply">> ->
                [A, B] = Args,
                A * B;
            _ ->
                {error, unknown_action}
        end
    end).

module_handler() ->
    ok = hornbeam_hooks:reg(<<"users">>, my_handler, handle, 3),
    ?assertEqual({ok, #{id => 1, name => <<"ada">>}}, hornbeam_hooks:execute(<<"users">>, <<"get_user">>, [1], #{})),
    ?assertEqual({error, not_found}, hornbeam_hooks:execute(<<"users">>, <<"get_user">>, [7], #{})),
    ?assertEqual({ok, #{id => 2, name => <<"bo">>, email => <<"bo@x">>}},
        hornbeam_hooks:execute(<<"users">>, <<"create_user">>, [<<"bo">>, <<"bo@x">>], #{})),
    ?assertEqual({error, {unknown_action, <<"drop">>}}, hornbeam_hooks:execute(<<"users">>, <<"drop">>, [], #{})).

numbers() ->
    ok = hornbeam_hooks:reg(<<"numbers">>, fun(<<"range">>, [Start, End], _) ->
        List = lists:seq(Start, End),
        hornbeam_hooks:stream_from_list(List)
    end),
    {ok, Gen} = hornbeam_hooks:stream(<<"numbers">>, <<"range">>, [1, 5], #{}),
    ?assertEqual([1, 2, 3, 4, 5], collect(Gen)),
    ?assertEqual(done, Gen()),
    ?assertEqual({ok, [1, 2, 3]}, hornbeam_hooks:execute(<<"numbers">>, <<"range">>, [1, 3], #{})),
    {ok, Many} = hornbeam_hooks:stream(<<"numbers">>, <<"range">>, [1, 200], #{}, #{window => 3}),
    ?assertEqual(lists:seq(1, 200), collect(Many)).

counter() ->
    ok = hornbeam_hooks:reg(<<"counter">>, fun(<<"count">>, [Max], _) ->
        Ref = make_ref(),
        put({counter, Ref}, 0),
        hornbeam_hooks:stream_from_fun(fun() ->
            N = get({counter, Ref}),
            if
                N >= Max -> hornbeam_hooks:stream_done();
                true ->
                    put({counter, Ref}, N + 1),
                    hornbeam_hooks:stream_chunk(N)
            end
        end)
    end),
    {ok, Gen} = hornbeam_hooks:stream(<<"counter">>, <<"count">>, [3], #{}),
    ?assertEqual([0, 1, 2], collect(Gen)),
    ?assertEqual({ok, [0, 1, 2, 3]}, hornbeam_hooks:execute(<<"counter">>, <<"count">>, [4], #{})),
    {ok, Small} = hornbeam_hooks:stream(<<"counter">>, <<"count">>, [100], #{}, #{window => 1}),
    ?assertEqual(lists:seq(0, 99), collect(Small)).

stand_ins() ->
    ok = hornbeam_hooks:reg(<<"embeddings">>, fun(<<"encode">>, [Text], _) -> [float(byte_size(Text)), 0.5] end),
    ok = hornbeam_hooks:reg(<<"ml">>, fun(<<"train">>, [Data], _) -> timer:sleep(200), #{trained_on => length(Data)} end),
    ok = hornbeam_hooks:reg(<<"classifier">>, fun(<<"classify">>, [_Url], _) -> <<"cat">> end),
    ok = hornbeam_hooks:reg(<<"llm">>, fun
        (<<"generate">>, [Prompt], _) ->
            hornbeam_hooks:stream_from_list([<<W/binary, " ">> || W <- binary:split(Prompt, <<" ">>, [global])]);
        (<<"count">>, [N], _) ->
            hornbeam_hooks:stream_from_list(lists:seq(1, N));
        (<<"crash">>, [], _) ->
            put(crashed, false),
            hornbeam_hooks:stream_from_fun(fun() ->
                case put(crashed, true) of
                    false -> hornbeam_hooks:stream_chunk(<<"partial">>);
                    true -> {error, crashed}
                end
            end)
    end).

calling() ->
    Text = <<"Hello world">>,
    Data = [1, 2, 3],
    Prompt = <<"Tell me a story">>,

    %% Synchronous
    {ok, Embedding} = hornbeam_hooks:execute(<<"embeddings">>, <<"encode">>, [Text], #{}),

    %% Async
    {ok, TaskId} = hornbeam_hooks:execute_async(<<"ml">>, <<"train">>, [Data], #{}),
    %% ... do other work ...
    {ok, Result} = hornbeam_hooks:await_result(TaskId, 60000),

    %% Streaming
    {ok, Gen} = hornbeam_hooks:stream(<<"llm">>, <<"generate">>, [Prompt], #{}),
    ok = stream_loop(Gen),

    ?assertEqual([11.0, 0.5], Embedding),
    ?assertEqual(#{trained_on => 3}, Result),
    ?assertEqual("Tell me a story ", ?capturedOutput).

stream_loop(Gen) ->
    case Gen() of
        {value, Chunk} ->
            io:format("~s", [Chunk]),
            stream_loop(Gen);
        done ->
            ok
    end.

auth() ->
    ok = hornbeam_hooks:reg(<<"auth">>, fun
        (<<"verify_token">>, [Token], _) ->
            case auth_server:verify(Token) of
                {ok, UserId} -> {ok, UserId};
                error -> {error, invalid_token}
            end;
        (<<"create_session">>, [UserId], _) ->
            SessionId = auth_server:create_session(UserId),
            {ok, SessionId}
    end),
    ?assertEqual({ok, 42}, hornbeam_hooks:execute(<<"auth">>, <<"verify_token">>, [<<"good-token">>], #{})),
    ?assertEqual({error, invalid_token}, hornbeam_hooks:execute(<<"auth">>, <<"verify_token">>, [<<"x">>], #{})),
    ?assertEqual({ok, <<"session-42">>}, hornbeam_hooks:execute(<<"auth">>, <<"create_session">>, [42], #{})),
    ?assertMatch({error, {erlang, error, function_clause, [_ | _]}},
        hornbeam_hooks:execute(<<"auth">>, <<"logout">>, [], #{})).

request_handler() ->
    ?assertEqual({200, <<"cat">>}, handle_request(#{image => <<"http://img/1.png">>})).

handle_request(Req) ->
    ImageUrl = get_image_url(Req),
    {ok, Classification} = hornbeam_hooks:execute(
        <<"classifier">>,
        <<"classify">>,
        [ImageUrl],
        #{}
    ),
    respond_json(Req, Classification).

get_image_url(#{image := Url}) -> Url.

respond_json(_Req, Body) -> {200, Body}.

%% Beyond the guide.

registry() ->
    ok = reg_calculator(),
    ?assertEqual({ok, #{app_path => <<"calculator">>, kind => erlang}}, hornbeam_hooks:find(<<"calculator">>)),
    ?assertEqual({ok, #{app_path => <<"calculator">>, kind => erlang}}, hornbeam_hooks:find(calculator)),
    ?assertEqual({ok, #{app_path => <<"demo.echo">>, kind => go}}, hornbeam_hooks:find('demo.echo')),
    ?assertEqual({error, {not_found, <<"nope">>}}, hornbeam_hooks:find(<<"nope">>)),
    ?assertEqual({error, {not_found, <<"nope">>}}, hornbeam_hooks:execute(<<"nope">>, <<"a">>, [], #{})),
    {ok, All} = hornbeam_hooks:all(),
    ?assert(lists:member(#{app_path => <<"calculator">>, kind => erlang}, All)),
    ok = hornbeam_hooks:reg(temp, fun(_, _, _) -> atom_path end),
    ?assertEqual({ok, atom_path}, hornbeam_hooks:execute(<<"temp">>, <<"x">>, [], #{})),
    ?assertEqual(ok, hornbeam_hooks:unreg(temp)),
    ?assertEqual(ok, hornbeam_hooks:unreg(<<"never">>)),
    ?assertEqual({error, {not_found, <<"temp">>}}, hornbeam_hooks:execute(temp, x, [], #{})).

bad_requests(#{node := Node}) ->
    ?assertEqual({error, {badarg, {app_path, 42}}}, hornbeam_hooks:execute(42, <<"a">>, [], #{})),
    ?assertEqual({error, {badarg, {args, [1 | 2]}}}, hornbeam_hooks:execute(p, a, [1 | 2], #{})),
    ?assertEqual({error, {badarg, {opts, #{window => 0}}}}, hornbeam_hooks:stream(p, a, [], #{}, #{window => 0})),
    ?assertEqual({error, {badarg, {task_id, 7}}}, hornbeam_hooks:await_result(7, 10)),
    ?assertEqual({error, {badarg, {timeout, -1}}}, hornbeam_hooks:await_result(<<"t">>, -1)),
    ?assertMatch({error, {badarg, {handler, _}}}, hornbeam_hooks:reg(<<"x">>, fun(_, _) -> ok end)),
    ?assertEqual({error, {badarg, {arity, 2}}}, hornbeam_hooks:reg(<<"x">>, my_handler, handle, 2)),
    ?assertEqual({error, {badarg, {function, {no_such_module, handle, 3}}}},
        hornbeam_hooks:reg(<<"x">>, no_such_module, handle, 3)),
    ?assertEqual({error, {bad_request, hello}}, gen_server:call({hornbeam_hooks, Node}, hello, 1000)),
    ?assertEqual({error, {bad_request, hello}}, gen_server:call(hornbeam_hooks_server, hello, 1000)),
    ?assertEqual({error, {not_found, <<"nobody">>}},
        gen_server:call(hornbeam_hooks_server, {hornbeam_handle, <<"nobody">>, <<"a">>, [], #{}, #{}}, 1000)).

handler_errors() ->
    ok = hornbeam_hooks:reg(<<"faulty">>, fun
        (<<"throw">>, _, _) -> throw(oops);
        (<<"exit">>, _, _) -> exit(self(), kill);
        (<<"bad_chunk">>, _, _) -> hornbeam_hooks:stream_from_fun(fun() -> 7 end);
        (<<"fail">>, _, _) -> hornbeam_hooks:error(failed);
        (<<"value">>, _, _) -> hornbeam_hooks:ok(plain)
    end),
    ?assertMatch({error, {erlang, throw, oops, [_ | _]}}, hornbeam_hooks:execute(<<"faulty">>, <<"throw">>, [], #{})),
    ?assertEqual({error, {erlang, exit, killed, []}}, hornbeam_hooks:execute(<<"faulty">>, <<"exit">>, [], #{})),
    ?assertEqual({error, {bad_stream, 7}}, hornbeam_hooks:execute(<<"faulty">>, <<"bad_chunk">>, [], #{})),
    {ok, Bad} = hornbeam_hooks:stream(<<"faulty">>, <<"bad_chunk">>, [], #{}),
    ?assertEqual({error, {bad_stream, 7}}, Bad()),
    ?assertEqual(done, Bad()),
    ?assertEqual({error, failed}, hornbeam_hooks:stream(<<"faulty">>, <<"fail">>, [], #{})),
    {ok, One} = hornbeam_hooks:stream(<<"faulty">>, <<"value">>, [], #{}),
    ?assertEqual([plain], collect(One)),
    {ok, Crash} = hornbeam_hooks:stream(<<"llm">>, <<"crash">>, [], #{}),
    ?assertEqual([{value, <<"partial">>}, {error, crashed}, done], [Crash(), Crash(), Crash()]),
    {ok, Gen} = hornbeam_hooks:stream(<<"llm">>, <<"count">>, [2], #{}),
    Self = self(),
    spawn(fun() -> Self ! {other, Gen()} end),
    ?assertEqual({error, {badarg, {owner, Self}}}, receive {other, R} -> R end),
    ?assertEqual([1, 2], collect(Gen)).

timeouts() ->
    Self = self(),
    ok = hornbeam_hooks:reg(<<"sleepy">>, fun
        (<<"sleep">>, [Ms], _) ->
            Self ! {sleeper, self()},
            timer:sleep(Ms);
        (<<"drip">>, [Ms], _) ->
            Self ! {sleeper, self()},
            hornbeam_hooks:stream_from_fun(fun() -> timer:sleep(Ms), hornbeam_hooks:stream_chunk(drop) end)
    end),
    ?assertEqual({error, timeout}, hornbeam_hooks:execute(<<"sleepy">>, <<"sleep">>, [1000], #{}, #{timeout => 100})),
    Sleeper = receive {sleeper, S} -> S end,
    ?assert(wait_until(fun() -> not is_process_alive(Sleeper) end)),
    ?assertEqual({error, timeout}, hornbeam_hooks:stream(<<"sleepy">>, <<"sleep">>, [1000], #{}, #{timeout => 100})),
    receive {sleeper, _} -> ok end,
    {ok, Gen} = hornbeam_hooks:stream(<<"sleepy">>, <<"drip">>, [1000], #{}, #{timeout => 100}),
    Dripper = receive {sleeper, D} -> D end,
    ?assertEqual([{error, timeout}, done], [Gen(), Gen()]),
    ?assert(wait_until(fun() -> not is_process_alive(Dripper) end)).

tasks() ->
    {ok, TaskId} = hornbeam_hooks:execute_async(<<"ml">>, <<"train">>, [[a]], #{}),
    ?assertEqual({error, timeout}, hornbeam_hooks:await_result(TaskId, 10)),
    ?assertEqual({ok, #{trained_on => 1}}, hornbeam_hooks:await_result(TaskId, 5000)),
    {ok, Sum} = hornbeam_hooks:execute_async(<<"calculator">>, <<"add">>, [1, 1], #{}),
    ?assertEqual({ok, 2}, hornbeam_hooks:await_result(Sum, infinity)),
    {ok, Long} = hornbeam_hooks:execute_async(<<"ml">>, <<"train">>, [[a]], #{}),
    ?assertEqual(ok, hornbeam_hooks:cancel(Long)),
    ?assertMatch({error, _}, hornbeam_hooks:await_result(Long, 1000)),
    ?assertEqual({error, {task_not_found, <<"nope">>}}, hornbeam_hooks:cancel(<<"nope">>)).

consumer_exit() ->
    Self = self(),
    ok = hornbeam_hooks:reg(<<"endless">>, fun(_, _, _) ->
        Self ! {producer, self()},
        hornbeam_hooks:stream_from_fun(fun() -> hornbeam_hooks:stream_chunk(x) end)
    end),
    {Consumer, Mon} = spawn_monitor(fun() ->
        {ok, Gen} = hornbeam_hooks:stream(<<"endless">>, <<"go">>, [], #{}, #{window => 2}),
        {value, x} = Gen()
    end),
    Producer = receive {producer, P} -> P end,
    ?assertEqual(normal, receive {'DOWN', Mon, process, Consumer, Reason} -> Reason end),
    ?assert(wait_until(fun() -> not is_process_alive(Producer) end)).

server_restart() ->
    ok = reg_calculator(),
    Old = whereis(hornbeam_hooks_server),
    exit(Old, kill),
    ?assert(wait_until(fun() -> whereis(hornbeam_hooks_server) =/= Old end)),
    ?assert(wait_until(fun() ->
        hornbeam_hooks:execute(<<"calculator">>, <<"add">>, [1, 2], #{}) =:= {ok, 3}
    end)).

node_restart(Ctx = #{node := Node}) ->
    ok = reg_calculator(),
    {ok, Gen} = hornbeam_hooks:stream(<<"llm">>, <<"count">>, [1000], #{}, #{window => 2}),
    ?assertEqual({value, 1}, Gen()),
    ok = down(Ctx),
    ?assertEqual({error, {nodedown, Node}}, lists:last(collect_all(Gen))),
    ?assertEqual({error, {nodedown, Node}}, hornbeam_hooks:execute(<<"calculator">>, <<"add">>, [1, 2], #{})),
    ?assertEqual({error, {nodedown, Node}}, hornbeam_hooks:stream(<<"llm">>, <<"count">>, [1], #{})),
    ok = up(Ctx),
    ?assert(wait_until(fun() ->
        hornbeam_hooks:execute(<<"calculator">>, <<"add">>, [1, 2], #{}) =:= {ok, 3}
    end)).

%% Only against the fake.

refused() ->
    ?assertEqual({error, {already_registered, <<"demo.echo">>}}, hornbeam_hooks:reg('demo.echo', fun(_, _, _) -> ok end)),
    ?assertEqual({ok, 1}, hornbeam_hooks:execute(<<"demo.echo">>, <<"echo">>, [1], #{})),
    ?assertEqual([], ets:lookup(hornbeam_hooks_handlers, <<"demo.echo">>)).

relay_closed(#{node := Node}) ->
    {Consumer, Mon} = spawn_monitor(fun() ->
        {ok, Gen} = hornbeam_hooks:stream(<<"endless">>, <<"go">>, [], #{}, #{window => 2}),
        {value, x} = Gen()
    end),
    ?assertEqual(normal, receive {'DOWN', Mon, process, Consumer, Reason} -> Reason end),
    ?assert(wait_until(fun() -> erpc:call(Node, hornbeam_fake_node, streams, []) =:= 0 end)).

go_server_restart(#{node := Node}) ->
    ok = reg_calculator(),
    exit(erpc:call(Node, erlang, whereis, [hornbeam_hooks]), kill),
    ?assertEqual({error, {noproc, Node}}, hornbeam_hooks:execute(<<"calculator">>, <<"add">>, [1, 2], #{})),
    ok = erpc:call(Node, hornbeam_fake_node, start, []),
    ?assert(wait_until(fun() ->
        hornbeam_hooks:execute(<<"calculator">>, <<"add">>, [1, 2], #{}) =:= {ok, 3}
    end)).

two_nodes(First = #{node := N1}) ->
    Second = #{kind => fake, node => node_name(fake2)},
    N2 = maps:get(node, Second),
    ok = up(Second),
    ok = application:stop(hornbeam_hooks),
    ok = application:set_env(hornbeam_hooks, nodes, [N1, N2]),
    ok = reg_calculator(),
    Found = {ok, #{app_path => <<"calculator">>, kind => erlang}},
    ?assertEqual(Found, gen_server:call({hornbeam_hooks, N2}, {find, <<"calculator">>}, 1000)),
    ok = down(First),
    ?assert(wait_until(fun() ->
        hornbeam_hooks:execute(<<"calculator">>, <<"add">>, [2, 3], #{}) =:= {ok, 5}
    end)),
    ok = up(First),
    ?assert(wait_until(fun() ->
        (catch gen_server:call({hornbeam_hooks, N1}, {find, <<"calculator">>}, 1000)) =:= Found
    end)),
    ok = down(Second).

%% Helpers.

collect(Gen) ->
    case Gen() of
        {value, Chunk} -> [Chunk | collect(Gen)];
        done -> []
    end.

collect_all(Gen) ->
    case Gen() of
        {value, _} = Value -> [Value | collect_all(Gen)];
        Last -> [Last]
    end.
