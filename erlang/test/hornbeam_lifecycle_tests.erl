%% Lifecycle hooks (hornbeam_lifecycle) around calls through the real Go node: the binary named by HORNBEAM_BIN,
%% else built from ./cmd/hornbeam. The handler `lc' is an Erlang handler registered here that counts its calls,
%% so every call goes to the Go node and back; its action `endless' sends its producer's pid to `lc_waiter'. The hooks are lc_hook and lc_other (recording, steered per test
%% through the caller's dictionary) and lc_none (no callbacks). Last, the Elixir example of docs/lifecycle.md
%% runs with Debian's `elixir' against the same Go node.
-module(hornbeam_lifecycle_tests).
-include_lib("eunit/include/eunit.hrl").
-import(hornbeam_test_lib, [bin/0, ensure_distributed/0, root/0, wait_until/1]).

%% logger handler.
-export([log/2]).

-define(PATH, <<"lc">>).

lifecycle_test_() ->
    {setup, fun start/0, fun stop/1, fun(Node) -> [
        {"cont transforms the request", fun cont_transforms/0},
        {"halt short-circuits: the handler is not called", fun halt_short_circuits/0},
        {"error aborts: the handler is not called", fun error_aborts/0},
        {"on_call_end transforms, halts or fails the result", fun end_transforms/0},
        {"a missing callback passes the value on", fun missing_callbacks/0},
        {"client-level hooks run before per-call ones; the context is Opts", fun client_first/0},
        {"on_call_error sees failed calls", fun call_error/0},
        {"a hook that raises or returns junk gives {error, {hook, ...}}", fun crashing_hook/0},
        {"an observer that raises is logged and ignored", fun crashing_observer/0},
        {"every chunk once, in order, and the end once", fun stream_chunks/0},
        {"a stream closed early ends once and stops its producer", fun stream_close/0},
        {"a stream that fails midway", fun stream_error/0},
        {"on_stream_start transforms, halts with chunks, aborts", fun stream_start/0},
        {"execute_async: start now, end at await", fun async/0},
        {"bad hooks are refused before anything runs", fun bad_hooks/0},
        {"docs/lifecycle.md's Erlang hook module", fun erlang_doc/0},
        {timeout, 120, {"docs/lifecycle.md's Elixir example", fun() -> elixir(Node) end}}
    ] end}.

%% Fixture.

start() ->
    ok = ensure_distributed(),
    Node = list_to_atom(lists:concat(["hblc_", os:getpid(), "@localhost"])),
    Log = filename:join(filename:dirname(code:which(?MODULE)), atom_to_list(Node) ++ ".log"),
    Cmd = lists:flatten(io_lib:format("~ts --sname ~ts >~ts 2>&1 & echo $!", [bin(), Node, Log])),
    persistent_term:put({?MODULE, Node}, string:trim(os:cmd(Cmd))),
    true = wait_until(fun() -> net_adm:ping(Node) =:= pong end),
    _ = application:load(hornbeam_hooks),
    ok = application:set_env(hornbeam_hooks, nodes, [Node]),
    ok = application:set_env(hornbeam_hooks, timeout, 2000),
    Counter = counters:new(1, []),
    persistent_term:put({?MODULE, counter}, Counter),
    ok = hornbeam_hooks:reg(?PATH, fun(Action, Args, Kwargs) ->
        counters:add(Counter, 1, 1),
        case Action of
            <<"add">> -> lists:sum(Args);
            <<"echo">> -> #{action => Action, args => Args, kwargs => Kwargs};
            <<"fail">> -> {error, failed};
            <<"sleep">> -> timer:sleep(hd(Args)), slept;
            <<"count">> -> hornbeam_hooks:stream_from_list(lists:seq(1, hd(Args)));
            <<"crash_after">> -> hornbeam_hooks:stream_from_list([1, 2, {error, crashed}]);
            <<"endless">> ->
                lc_waiter ! {producer, self()},
                hornbeam_hooks:stream_from_fun(fun() -> hornbeam_hooks:stream_chunk(x) end)
        end
    end),
    Node.

stop(Node) ->
    ok = application:stop(hornbeam_hooks),
    ok = application:set_env(hornbeam_hooks, hooks, []),
    _ = os:cmd("kill -9 " ++ persistent_term:get({?MODULE, Node})),
    true = wait_until(fun() -> not lists:member(Node, nodes(connected)) end),
    ok.


%% Each test starts with an empty trail, no steering funs and a zero counter, and ends with no client hooks.
fresh() ->
    _ = lc_hook:trail(),
    [erase(K) || {K = {Mod, _}, _} <- get(), Mod =:= lc_hook orelse Mod =:= lc_other],
    counters:put(counter(), 1, 0),
    ok = application:set_env(hornbeam_hooks, hooks, []),
    case whereis(lc_waiter) of
        undefined -> ok;
        _ -> true = unregister(lc_waiter)
    end.

counter() ->
    persistent_term:get({?MODULE, counter}).

calls() ->
    counters:get(counter(), 1).

hooks(Mods) ->
    #{hooks => Mods}.

%% Tests.

cont_transforms() ->
    fresh(),
    put({lc_hook, on_call_start}, fun(_, {<<"add">>, Args, Kw}, _) ->
        {cont, {<<"echo">>, [A * 10 || A <- Args], Kw#{seen => true}}}
    end),
    ?assertEqual({ok, #{action => <<"echo">>, args => [10, 20], kwargs => #{seen => true}}},
        hornbeam_hooks:execute(?PATH, <<"add">>, [1, 2], #{}, hooks([lc_hook]))),
    ?assertEqual(1, calls()),
    Call = #{app_path => ?PATH, action => <<"add">>},
    ?assertMatch([{lc_hook, on_call_start, {<<"add">>, [1, 2], #{}}}, {lc_hook, on_call_end, #{args := [10, 20]}}],
        lc_hook:trail()),
    put({lc_hook, on_call_start}, fun(C, R, Ctx) -> self() ! {seen, C, Ctx}, {cont, R} end),
    {ok, 3} = hornbeam_hooks:execute(?PATH, <<"add">>, [1, 2], #{}, hooks([lc_hook])),
    ?assertEqual({seen, Call, hooks([lc_hook])}, receive {seen, _, _} = S -> S end).

halt_short_circuits() ->
    fresh(),
    put({lc_hook, on_call_start}, fun(_, _, _) -> {halt, cached} end),
    ?assertEqual({ok, cached}, hornbeam_hooks:execute(?PATH, <<"add">>, [1, 2], #{}, hooks([lc_hook, lc_other]))),
    ?assertEqual(0, calls()),
    ?assertEqual([{lc_hook, on_call_start, {<<"add">>, [1, 2], #{}}}], lc_hook:trail()).

error_aborts() ->
    fresh(),
    put({lc_hook, on_call_start}, fun(_, _, _) -> {error, denied} end),
    put({lc_hook, on_stream_start}, fun(_, _, _) -> {error, denied} end),
    ?assertEqual({error, denied}, hornbeam_hooks:execute(?PATH, <<"add">>, [1, 2], #{}, hooks([lc_hook, lc_other]))),
    ?assertEqual({error, denied}, hornbeam_hooks:stream(?PATH, <<"count">>, [3], #{}, hooks([lc_hook, lc_other]))),
    ?assertEqual(0, calls()),
    ?assertEqual([{lc_hook, on_call_start}, {lc_hook, on_stream_start}], [{M, C} || {M, C, _} <- lc_hook:trail()]).

end_transforms() ->
    fresh(),
    put({lc_hook, on_call_end}, fun(_, V, _) -> {cont, V * 2} end),
    put({lc_other, on_call_end}, fun(_, V, _) -> {cont, V + 1} end),
    ?assertEqual({ok, 7}, hornbeam_hooks:execute(?PATH, <<"add">>, [1, 2], #{}, hooks([lc_hook, lc_other]))),
    put({lc_hook, on_call_end}, fun(_, _, _) -> {halt, replaced} end),
    ?assertEqual({ok, replaced}, hornbeam_hooks:execute(?PATH, <<"add">>, [1, 2], #{}, hooks([lc_hook, lc_other]))),
    put({lc_hook, on_call_end}, fun(_, _, _) -> {error, rejected} end),
    ?assertEqual({error, rejected}, hornbeam_hooks:execute(?PATH, <<"add">>, [1, 2], #{}, hooks([lc_hook]))),
    ?assertEqual(3, calls()).

missing_callbacks() ->
    fresh(),
    ?assertEqual({ok, 3}, hornbeam_hooks:execute(?PATH, <<"add">>, [1, 2], #{}, hooks([lc_none]))),
    ?assertEqual({error, failed}, hornbeam_hooks:execute(?PATH, <<"fail">>, [], #{}, hooks([lc_none]))),
    {ok, Gen} = hornbeam_hooks:stream(?PATH, <<"count">>, [3], #{}, hooks([lc_none, lc_hook, lc_none])),
    ?assertEqual([1, 2, 3], collect(Gen)),
    ?assertEqual([{lc_hook, on_stream_start, {<<"count">>, [3], #{}}}, {lc_hook, on_stream_chunk, 1},
        {lc_hook, on_stream_chunk, 2}, {lc_hook, on_stream_chunk, 3}, {lc_hook, on_stream_end, none}],
        lc_hook:trail()),
    {ok, Task} = hornbeam_hooks:execute_async(?PATH, <<"add">>, [2, 2], #{}, hooks([lc_none])),
    ?assertEqual({ok, 4}, hornbeam_hooks:await_result(Task, 2000)).

client_first() ->
    fresh(),
    ok = application:set_env(hornbeam_hooks, hooks, [lc_other]),
    put({lc_other, on_call_start}, fun(_, {A, Args, Kw}, _) -> {cont, {A, Args ++ [1], Kw}} end),
    put({lc_hook, on_call_start}, fun(_, {A, Args, Kw}, _) -> {cont, {A, Args ++ [2], Kw}} end),
    Opts = #{hooks => [lc_hook], trace_id => 7},
    put({lc_hook, on_call_end}, fun(_, V, Ctx) -> {cont, {V, Ctx}} end),
    ?assertEqual({ok, {3, Opts}}, hornbeam_hooks:execute(?PATH, <<"add">>, [], #{}, Opts)),
    ?assertEqual([{lc_other, on_call_start}, {lc_hook, on_call_start}, {lc_other, on_call_end},
        {lc_hook, on_call_end}], [{M, C} || {M, C, _} <- lc_hook:trail()]),
    ?assertEqual({ok, 1}, hornbeam_hooks:execute(?PATH, <<"add">>, [], #{})),
    ?assertEqual([{lc_other, on_call_start}, {lc_other, on_call_end}], [{M, C} || {M, C, _} <- lc_hook:trail()]).

call_error() ->
    fresh(),
    Hooks = hooks([lc_hook]),
    ?assertEqual({error, failed}, hornbeam_hooks:execute(?PATH, <<"fail">>, [], #{}, Hooks)),
    ?assertEqual({error, timeout},
        hornbeam_hooks:execute(?PATH, <<"sleep">>, [500], #{}, Hooks#{timeout => 50})),
    ?assertEqual({error, {not_found, <<"nobody">>}}, hornbeam_hooks:execute(<<"nobody">>, <<"x">>, [], #{}, Hooks)),
    ?assertEqual({error, {not_found, <<"nobody">>}}, hornbeam_hooks:stream(<<"nobody">>, <<"x">>, [], #{}, Hooks)),
    Trail = lc_hook:trail(),
    ?assertEqual([failed, timeout, {not_found, <<"nobody">>}, {not_found, <<"nobody">>}],
        [R || {lc_hook, on_call_error, R} <- Trail]),
    ?assertMatch([{lc_hook, on_stream_start, _}, {lc_hook, on_call_error, _}, {lc_hook, on_stream_end, none}],
        lists:nthtail(6, Trail)),
    put({lc_hook, on_call_start}, fun(_, _, _) -> {error, denied} end),
    ?assertEqual({error, denied}, hornbeam_hooks:execute(?PATH, <<"fail">>, [], #{}, Hooks)),
    ?assertEqual([], [R || {lc_hook, on_call_error, R} <- lc_hook:trail()]).

crashing_hook() ->
    fresh(),
    Hooks = hooks([lc_hook, lc_other]),
    put({lc_hook, on_call_start}, fun(_, _, _) -> error(boom) end),
    ?assertMatch({error, {hook, lc_hook, {on_call_start, {error, boom, [_ | _]}}}},
        hornbeam_hooks:execute(?PATH, <<"add">>, [1], #{}, Hooks)),
    ?assertEqual(0, calls()),
    put({lc_hook, on_call_start}, fun(_, _, _) -> {cont, not_a_request} end),
    ?assertEqual({error, {hook, lc_hook, {on_call_start, {bad_return, {cont, not_a_request}}}}},
        hornbeam_hooks:execute(?PATH, <<"add">>, [1], #{}, Hooks)),
    erase({lc_hook, on_call_start}),
    put({lc_other, on_call_end}, fun(_, _, _) -> throw(oops) end),
    ?assertMatch({error, {hook, lc_other, {on_call_end, {throw, oops, _}}}},
        hornbeam_hooks:execute(?PATH, <<"add">>, [1], #{}, Hooks)),
    put({lc_other, on_call_end}, fun(_, _, _) -> ok end),
    ?assertEqual({error, {hook, lc_other, {on_call_end, {bad_return, ok}}}},
        hornbeam_hooks:execute(?PATH, <<"add">>, [1], #{}, Hooks)),
    put({lc_hook, on_stream_start}, fun(_, _, _) -> exit(gone) end),
    ?assertMatch({error, {hook, lc_hook, {on_stream_start, {exit, gone, _}}}},
        hornbeam_hooks:stream(?PATH, <<"count">>, [1], #{}, Hooks)),
    put({lc_hook, on_stream_start}, fun(_, _, _) -> {halt, not_a_list} end),
    ?assertEqual({error, {hook, lc_hook, {on_stream_start, {bad_return, {halt, not_a_list}}}}},
        hornbeam_hooks:stream(?PATH, <<"count">>, [1], #{}, Hooks)),
    ?assertEqual(2, calls()).

crashing_observer() ->
    fresh(),
    Hooks = hooks([lc_hook, lc_other]),
    put({lc_hook, on_stream_chunk}, fun(_, _, _) -> error(observer) end),
    put({lc_hook, on_stream_end}, fun(_, _) -> error(observer) end),
    put({lc_hook, on_call_error}, fun(_, _, _) -> error(observer) end),
    {ok, Gen} = hornbeam_hooks:stream(?PATH, <<"count">>, [3], #{}, Hooks),
    ?assertEqual([1, 2, 3], collect(Gen)),
    ?assertEqual([1, 2, 3], [C || {lc_other, on_stream_chunk, C} <- lc_hook:trail()]),
    ?assertEqual({error, failed}, hornbeam_hooks:execute(?PATH, <<"fail">>, [], #{}, Hooks)),
    ?assertEqual([{lc_hook, on_call_error}, {lc_other, on_call_error}],
        [{M, C} || {M, C, _} <- lc_hook:trail(), C =:= on_call_error]).

stream_chunks() ->
    fresh(),
    {ok, Gen} = hornbeam_hooks:stream(?PATH, <<"count">>, [100], #{}, #{hooks => [lc_hook, lc_other], window => 4}),
    ?assertEqual(lists:seq(1, 100), collect(Gen)),
    ?assertEqual([done, done], [Gen(), Gen()]),
    ok = hornbeam_hooks:close_stream(Gen),
    Trail = lc_hook:trail(),
    [?assertEqual(lists:seq(1, 100), [C || {M2, on_stream_chunk, C} <- Trail, M2 =:= M]) || M <- [lc_hook, lc_other]],
    ?assertEqual([{lc_hook, on_stream_end, none}, {lc_other, on_stream_end, none}],
        [E || E = {_, on_stream_end, _} <- Trail]),
    ?assertMatch([{lc_hook, on_stream_start, _}, {lc_other, on_stream_start, _},
        {lc_hook, on_stream_chunk, 1}, {lc_other, on_stream_chunk, 1} | _], Trail),
    ?assertEqual([], [C || {_, C, _} <- Trail, C =/= on_stream_start, C =/= on_stream_chunk, C =/= on_stream_end]).

stream_close() ->
    fresh(),
    true = register(lc_waiter, self()),
    {ok, Gen} = hornbeam_hooks:stream(?PATH, <<"endless">>, [], #{}, #{hooks => [lc_hook], window => 4}),
    Producer = receive {producer, P} -> P end,
    ?assertEqual([{value, x}, {value, x}, {value, x}], [Gen(), Gen(), Gen()]),
    ?assertEqual(ok, hornbeam_hooks:close_stream(Gen)),
    ?assertEqual([done, done], [Gen(), Gen()]),
    ?assertEqual(ok, hornbeam_hooks:close_stream(Gen)),
    ?assert(wait_until(fun() -> not is_process_alive(Producer) end)),
    ?assertEqual([{lc_hook, on_stream_start, {<<"endless">>, [], #{}}}, {lc_hook, on_stream_chunk, x},
        {lc_hook, on_stream_chunk, x}, {lc_hook, on_stream_chunk, x}, {lc_hook, on_stream_end, none}],
        lc_hook:trail()),
    {ok, Plain} = hornbeam_hooks:stream(?PATH, <<"endless">>, [], #{}, #{window => 2}),
    Producer2 = receive {producer, P2} -> P2 end,
    ?assertEqual({value, x}, Plain()),
    ?assertEqual(ok, hornbeam_hooks:close_stream(Plain)),
    ?assertEqual(done, Plain()),
    ?assert(wait_until(fun() -> not is_process_alive(Producer2) end)),
    ?assertEqual({error, {badarg, {generator, nope}}}, hornbeam_hooks:close_stream(nope)),
    true = unregister(lc_waiter).

stream_error() ->
    fresh(),
    true = register(lc_waiter, self()),
    {ok, Gen} = hornbeam_hooks:stream(?PATH, <<"crash_after">>, [], #{}, hooks([lc_hook])),
    ?assertEqual([{value, 1}, {value, 2}, {error, crashed}, done], [Gen(), Gen(), Gen(), Gen()]),
    ?assertEqual([on_stream_start, on_stream_chunk, on_stream_chunk, on_call_error, on_stream_end],
        [C || {lc_hook, C, _} <- lc_hook:trail()]),
    {ok, Slow} = hornbeam_hooks:stream(?PATH, <<"endless">>, [], #{}, #{hooks => [lc_hook], window => 1}),
    receive {producer, _} -> ok end,
    ?assertEqual({value, x}, Slow()),
    Self = self(),
    spawn(fun() -> Self ! {other, Slow()} end),
    ?assertEqual({error, {badarg, {owner, Self}}}, receive {other, R} -> R end),
    ok = hornbeam_hooks:close_stream(Slow),
    ?assertEqual([on_stream_start, on_stream_chunk, on_stream_end], [C || {lc_hook, C, _} <- lc_hook:trail()]),
    true = unregister(lc_waiter).

stream_start() ->
    fresh(),
    put({lc_hook, on_stream_start}, fun(_, {A, [N], Kw}, _) -> {cont, {A, [N + 2], Kw}} end),
    {ok, Gen} = hornbeam_hooks:stream(?PATH, <<"count">>, [1], #{}, hooks([lc_hook])),
    ?assertEqual([1, 2, 3], collect(Gen)),
    ?assertEqual(1, calls()),
    put({lc_hook, on_stream_start}, fun(_, _, _) -> {halt, [a, b, c]} end),
    {ok, Cached} = hornbeam_hooks:stream(?PATH, <<"count">>, [1], #{}, hooks([lc_hook, lc_other])),
    ?assertEqual([{value, a}, {value, b}], [Cached(), Cached()]),
    ?assertEqual(ok, hornbeam_hooks:close_stream(Cached)),
    ?assertEqual(done, Cached()),
    {ok, All} = hornbeam_hooks:stream(?PATH, <<"count">>, [1], #{}, hooks([lc_hook])),
    ?assertEqual([a, b, c], collect(All)),
    ?assertEqual(1, calls()),
    ?assertEqual([], [T || T = {lc_other, _, _} <- lc_hook:trail()]).

async() ->
    fresh(),
    Hooks = hooks([lc_hook]),
    put({lc_hook, on_call_start}, fun(_, {A, Args, Kw}, _) -> {cont, {A, [10 | Args], Kw}} end),
    put({lc_hook, on_call_end}, fun(_, V, _) -> {cont, {ended, V}} end),
    {ok, Task} = hornbeam_hooks:execute_async(?PATH, <<"add">>, [1], #{}, Hooks),
    ?assertEqual({ok, {ended, 11}}, hornbeam_hooks:await_result(Task, 2000)),
    {ok, Slow} = hornbeam_hooks:execute_async(?PATH, <<"sleep">>, [300], #{}, Hooks),
    ?assertEqual({error, timeout}, hornbeam_hooks:await_result(Slow, 10)),
    ?assertEqual({ok, {ended, slept}}, hornbeam_hooks:await_result(Slow, 2000)),
    {ok, Failing} = hornbeam_hooks:execute_async(?PATH, <<"fail">>, [], #{}, Hooks),
    ?assertEqual({error, failed}, hornbeam_hooks:await_result(Failing, 2000)),
    Self = self(),
    {ok, Elsewhere} = hornbeam_hooks:execute_async(?PATH, <<"add">>, [1], #{}, Hooks),
    spawn(fun() -> Self ! {other, hornbeam_hooks:await_result(Elsewhere, 2000)} end),
    ?assertEqual({other, {ok, 11}}, receive {other, _} = O -> O end),
    _ = hornbeam_hooks:cancel(Elsewhere),
    ?assertEqual(4, calls()),
    ?assertEqual([failed], [R || {lc_hook, on_call_error, R} <- lc_hook:trail()]),
    put({lc_hook, on_call_start}, fun(_, _, _) -> {halt, cached} end),
    {ok, Halted} = hornbeam_hooks:execute_async(?PATH, <<"add">>, [1], #{}, Hooks),
    ?assertEqual({ok, cached}, hornbeam_hooks:await_result(Halted, 0)),
    {ok, Dropped} = hornbeam_hooks:execute_async(?PATH, <<"add">>, [1], #{}, Hooks),
    ?assertEqual(ok, hornbeam_hooks:cancel(Dropped)),
    ?assertMatch({error, _}, hornbeam_hooks:await_result(Dropped, 1000)),
    ?assertEqual([], [R || {lc_hook, on_call_error, R} <- lc_hook:trail()]),
    put({lc_hook, on_call_start}, fun(_, _, _) -> {error, denied} end),
    Calls = calls(),
    ?assertEqual({error, denied}, hornbeam_hooks:execute_async(?PATH, <<"add">>, [1], #{}, Hooks)),
    ?assertEqual(Calls, calls()),
    ?assertEqual([], [K || {{hornbeam_lifecycle_task, _} = K, _} <- get()]).

bad_hooks() ->
    fresh(),
    ?assertEqual({error, {badarg, {opts, #{hooks => lc_hook}}}},
        hornbeam_hooks:execute(?PATH, <<"add">>, [1], #{}, #{hooks => lc_hook})),
    ?assertEqual({error, {badarg, {opts, #{hooks => [no_such_hook]}}}},
        hornbeam_hooks:stream(?PATH, <<"count">>, [1], #{}, #{hooks => [no_such_hook]})),
    ok = application:set_env(hornbeam_hooks, hooks, [lc_hook, "lc_other"]),
    ?assertEqual({error, {badarg, {hooks, [lc_hook, "lc_other"]}}},
        hornbeam_hooks:execute_async(?PATH, <<"add">>, [1], #{})),
    ok = application:set_env(hornbeam_hooks, hooks, []),
    ?assertEqual(0, calls()),
    ?assertEqual([], lc_hook:trail()).

%% The first ```erlang block of docs/lifecycle.md, compiled as written, times a call.
erlang_doc() ->
    fresh(),
    {ok, Doc} = file:read_file(filename:join(root(), "docs/lifecycle.md")),
    {match, [[Code] | _]} = re:run(Doc, "```erlang\\n(.*?)```", [dotall, global, {capture, all_but_first, binary}]),
    Src = filename:join(filename:dirname(code:which(?MODULE)), "timing_hooks.erl"),
    ok = file:write_file(Src, Code),
    {ok, timing_hooks, Beam} = compile:file(Src, [binary, return_errors]),
    {module, timing_hooks} = code:load_binary(timing_hooks, "docs/lifecycle.md", Beam),
    #{level := Level} = logger:get_primary_config(),
    ok = logger:add_handler(lc_doc, ?MODULE, #{config => self()}),
    ok = logger:set_primary_config(level, info),
    try
        ?assertEqual({ok, 3}, hornbeam_hooks:execute(?PATH, <<"add">>, [1, 2], #{}, hooks([timing_hooks]))),
        ?assertMatch("add took " ++ _, receive {lc_doc, "add took" ++ _ = Msg} -> Msg after 1000 -> none end),
        ?assertEqual([], [K || {{timing_hooks, _} = K, _} <- get()])
    after
        ok = logger:set_primary_config(level, Level),
        ok = logger:remove_handler(lc_doc)
    end.

%% logger handler: sends the text of each formatted event to the test process.
log(#{msg := {Format, Args}}, #{config := Pid}) when is_list(Format) ->
    Pid ! {lc_doc, lists:flatten(io_lib:format(Format, Args))};
log(_Event, _Config) ->
    ok.

%% The Elixir example: docs/lifecycle.md's ```elixir blocks, run by test/elixir/lifecycle_example.exs in a new
%% `elixir' node that calls the same Go node.
elixir(Node) ->
    fresh(),
    Ebin = filename:dirname(code:which(hornbeam_lifecycle)),
    Script = filename:join([root(), "erlang", "test", "elixir", "lifecycle_example.exs"]),
    Name = "hblcex_" ++ os:getpid(),
    Cmd = lists:flatten(io_lib:format("cd ~ts && elixir --sname ~ts --cookie ~ts -pa ~ts ~ts ~ts 2>&1; echo \"exit=$?\"",
        [root(), Name, erlang:get_cookie(), Ebin, Script, Node])),
    Out = os:cmd(Cmd),
    ?assertEqual({match, Out}, {re:run(Out, "exit=0\n$", [{capture, none}]), Out}),
    ?assertNotEqual(nomatch, string:find(Out, "4 tests, 0 failures")).

%% Helpers.

collect(Gen) ->
    case Gen() of
        {value, Chunk} -> [Chunk | collect(Gen)];
        done -> []
    end.
