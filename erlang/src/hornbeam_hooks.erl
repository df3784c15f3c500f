%% @doc Hooks from Erlang: call the hooks a hornbeam Go node routes, and register Erlang handlers with it.
%%
%% Calls go to `{hornbeam_hooks, Node}' on a Go node that serves the app path: found through OTP `pg', or
%% taken from the application environment `nodes' when it is set, failing over to the next node when one is
%% down (see {@link hornbeam_hooks_nodes}); docs/protocol.md is the wire contract. Every function starts the `hornbeam_hooks' application if it is not running, so a plain
%% `erl -sname x' shell can call it; the local node must be distributed.
%%
%% Handlers registered with {@link reg/2} or {@link reg/4} belong to the local `hornbeam_hooks_server', not to
%% the process that registered them: they stay until {@link unreg/1}, and the server registers them again
%% whenever a Go node comes back. Each call from the Go node runs the handler in a fresh process, with the
%% caller's deadline. Return `{ok, V}', `{error, R}' or any other value (read as `{ok, Value}'); an exception
%% becomes `{error, {erlang, Class, Reason, Stacktrace}}'. A handler that returns a stream (see
%% {@link stream_from_list/1} and {@link stream_from_fun/1}) serves {@link stream/4}; called with
%% {@link execute/4}, the stream is drained into a list.
%%
%% Lifecycle hooks ({@link hornbeam_lifecycle}, docs/lifecycle.md) run in the caller's process around
%% {@link execute/5}, {@link execute_async/5} and {@link stream/5}: first the modules of the application
%% environment `hooks' (client-level), then those of the call's `Opts' (`#{hooks => [Mod]}', per call).
%%
%% Errors are `{error, Reason}'. The reasons made here are:
%% <ul>
%% <li>`{nodedown, Node}': the Go node is not connected and cannot be reached (the last one tried).</li>
%% <li>`{no_node, AppPath}': the application environment `nodes' is an empty list.</li>
%% <li>`{noproc, Node}': the node is up but runs no `hornbeam_hooks' server.</li>
%% <li>`timeout': no answer within the call's timeout.</li>
%% <li>`{exit, Reason}': the Go node's server exited while serving the call.</li>
%% <li>`{badarg, {What, Value}}': bad input to a function of this module, checked before anything is sent.</li>
%% <li>`{bad_stream, Value}': a stream generator returned something other than a chunk, done or an error.</li>
%% <li>`{not_found, AppPath}': the Go node routed a call for a path this node does not serve.</li>
%% <li>`{erlang, Class, Reason, Stacktrace}': an Erlang handler raised.</li>
%% <li>`{hook, Mod, {Callback, Why}}': a lifecycle hook raised or returned something else than it may.</li>
%% </ul>
%% Any other reason comes from the Go node or from a handler, as docs/errors.md lists.
-module(hornbeam_hooks).
-compile({no_auto_import, [error/1]}).

-ifdef(TEST).
-include_lib("eunit/include/eunit.hrl").
-endif.

%% API.
-export([reg/2]).
-export([reg/4]).
-export([unreg/1]).
-export([execute/4]).
-export([execute/5]).
-export([execute_async/4]).
-export([execute_async/5]).
-export([await_result/2]).
-export([cancel/1]).
-export([stream/4]).
-export([stream/5]).
-export([close_stream/1]).
-export([find/1]).
-export([all/0]).
-export([stream_from_list/1]).
-export([stream_from_fun/1]).
-export([stream_chunk/1]).
-export([stream_done/0]).
-export([ok/1]).
-export([error/1]).

-type app_path() :: binary() | atom().
-type action() :: binary() | atom().
-type args() :: [term()].
-type kwargs() :: map().
-type opts() :: #{timeout => non_neg_integer(), window => pos_integer(), hooks => [module()], _ => term()}.
-type task_id() :: binary().
-type handler() :: fun((binary(), args(), kwargs()) -> term()).
-type next() :: {value, term()} | done | {error, term()}.
-type generator() :: fun(() -> next()).
-type stream() :: {hornbeam_stream, generator()}.
-type info() :: #{app_path := binary(), kind := go | erlang | python}.
-type reason() :: timeout
    | {nodedown, node()}
    | {noproc, node()}
    | {exit, term()}
    | {badarg, {atom(), term()}}
    | term().
-export_type([app_path/0]).
-export_type([action/0]).
-export_type([args/0]).
-export_type([kwargs/0]).
-export_type([opts/0]).
-export_type([task_id/0]).
-export_type([handler/0]).
-export_type([next/0]).
-export_type([generator/0]).
-export_type([stream/0]).
-export_type([info/0]).
-export_type([reason/0]).

-define(WINDOW, 256).

%% API.

%% @doc Registers `Fun(Action, Args, Kwargs)' as the handler of `AppPath' with every Go node that is up.
-spec reg(app_path(), handler()) -> ok | {error, reason()}.
reg(AppPath, Fun) ->
    case check([{app_path, AppPath, fun is_name/1}, {handler, Fun, fun(F) -> is_function(F, 3) end}]) of
        ok -> hornbeam_hooks_server:reg(name(AppPath), Fun, timeout());
        Error -> Error
    end.

%% @doc Registers `M:F(Action, Args, Kwargs)' as the handler of `AppPath'; `Arity' must be 3.
-spec reg(app_path(), module(), atom(), 3) -> ok | {error, reason()}.
reg(AppPath, M, F, Arity) ->
    Checks = [{app_path, AppPath, fun is_name/1}, {arity, Arity, fun(A) -> A =:= 3 end},
        {function, {M, F, Arity}, fun is_exported/1}],
    case check(Checks) of
        ok -> hornbeam_hooks_server:reg(name(AppPath), {M, F}, timeout());
        Error -> Error
    end.

%% @doc Removes the handler of `AppPath' here and on every Go node that is up; `ok' also when there was none.
-spec unreg(app_path()) -> ok | {error, reason()}.
unreg(AppPath) ->
    case check([{app_path, AppPath, fun is_name/1}]) of
        ok -> hornbeam_hooks_server:unreg(name(AppPath), timeout());
        Error -> Error
    end.

%% @equiv execute(AppPath, Action, Args, Kwargs, #{})
-spec execute(app_path(), action(), args(), kwargs()) -> {ok, term()} | {error, reason()}.
execute(AppPath, Action, Args, Kwargs) ->
    execute(AppPath, Action, Args, Kwargs, #{}).

%% @doc Calls `Action' of the hook `AppPath' and waits for its result. `Opts' may set `timeout' (ms, default
%% the application environment `timeout'), the deadline sent to the handler and the time this call waits, and
%% `hooks', the per-call lifecycle hooks; the hooks see all of `Opts' as their context.
-spec execute(app_path(), action(), args(), kwargs(), opts()) -> {ok, term()} | {error, reason()}.
execute(AppPath, Action, Args, Kwargs, Opts) ->
    around(execute, AppPath, Action, Args, Kwargs, Opts, fun remote_execute/5).

-spec remote_execute(app_path(), action(), args(), kwargs(), opts()) -> {ok, term()} | {error, reason()}.
remote_execute(AppPath, Action, Args, Kwargs, Opts) ->
    case check_call(AppPath, Action, Args, Kwargs, Opts) of
        ok ->
            Timeout = maps:get(timeout, Opts, timeout()),
            call(name(AppPath), {execute, AppPath, Action, Args, Kwargs, Opts#{timeout => Timeout}}, Timeout);
        Error ->
            Error
    end.

%% @equiv execute_async(AppPath, Action, Args, Kwargs, #{})
-spec execute_async(app_path(), action(), args(), kwargs()) -> {ok, task_id()} | {error, reason()}.
execute_async(AppPath, Action, Args, Kwargs) ->
    execute_async(AppPath, Action, Args, Kwargs, #{}).

%% @doc Starts `Action' of the hook `AppPath' and returns the task's id at once; see {@link await_result/2}.
%% `Opts' may set `hooks', the per-call lifecycle hooks: `on_call_start' runs now, `on_call_end' or
%% `on_call_error' when this process awaits the result.
-spec execute_async(app_path(), action(), args(), kwargs(), opts()) -> {ok, task_id()} | {error, reason()}.
execute_async(AppPath, Action, Args, Kwargs, Opts) ->
    around(execute_async, AppPath, Action, Args, Kwargs, Opts, fun(P, A, Ar, Kw, _) ->
        remote_execute_async(P, A, Ar, Kw)
    end).

-spec remote_execute_async(app_path(), action(), args(), kwargs()) -> {ok, task_id()} | {error, reason()}.
remote_execute_async(AppPath, Action, Args, Kwargs) ->
    case check_call(AppPath, Action, Args, Kwargs, #{}) of
        ok ->
            case hornbeam_hooks_nodes:call(name(AppPath), {execute_async, AppPath, Action, Args, Kwargs}, timeout()) of
                {reply, Node, Reply = {ok, TaskId}} ->
                    ok = hornbeam_hooks_nodes:remember_task(TaskId, Node),
                    Reply;
                {reply, _, Reply} ->
                    Reply;
                Error ->
                    Error
            end;
        Error -> Error
    end.

%% @doc Waits up to `Timeout' ms for the result of a task on the Go node that started it; `{error, timeout}'
%% leaves the result for a later await.
-spec await_result(task_id(), timeout()) -> {ok, term()} | {error, reason()}.
await_result(TaskId, Timeout) ->
    case check([{task_id, TaskId, fun is_binary/1}, {timeout, Timeout, fun is_timeout/1}]) of
        ok -> hornbeam_lifecycle:await_result(TaskId, fun() -> remote_await_result(TaskId, Timeout) end);
        Error -> Error
    end.

-spec remote_await_result(task_id(), timeout()) -> {ok, term()} | {error, reason()}.
remote_await_result(TaskId, Timeout) ->
    case task_call(TaskId, {await_result, TaskId, Timeout}, Timeout) of
        {error, timeout} = Error -> Error;
        Result -> ok = hornbeam_hooks_nodes:forget_task(TaskId), Result
    end.

%% @doc Cancels a task; `{error, {task_not_found, TaskId}}' when the Go node does not know it.
-spec cancel(task_id()) -> ok | {error, reason()}.
cancel(TaskId) ->
    case check([{task_id, TaskId, fun is_binary/1}]) of
        ok -> hornbeam_lifecycle:cancel(TaskId, fun() -> remote_cancel(TaskId) end);
        Error -> Error
    end.

-spec remote_cancel(task_id()) -> ok | {error, reason()}.
remote_cancel(TaskId) ->
    Result = task_call(TaskId, {cancel, TaskId}, timeout()),
    ok = hornbeam_hooks_nodes:forget_task(TaskId),
    Result.

%% @equiv stream(AppPath, Action, Args, Kwargs, #{})
-spec stream(app_path(), action(), args(), kwargs()) -> {ok, generator()} | {error, reason()}.
stream(AppPath, Action, Args, Kwargs) ->
    stream(AppPath, Action, Args, Kwargs, #{}).

%% @doc Starts a stream and returns `Gen': each `Gen()' gives `{value, Chunk}', then `done' or
%% `{error, Reason}', and `done' ever after. Chunks are pushed to the calling process, at most `window'
%% (default 256) ahead of what it took; `Gen' works only in that process and answers
%% `{error, {badarg, {owner, Pid}}}' elsewhere; it keeps its state in that process's dictionary under
%% `{hornbeam_hooks, StreamRef}' until the stream ends. `timeout' (default the application environment `timeout')
%% bounds the start and each wait for a chunk; when a wait times out the stream is closed. `hooks' sets the
%% per-call lifecycle hooks. {@link close_stream/1} ends the stream early.
-spec stream(app_path(), action(), args(), kwargs(), opts()) -> {ok, generator()} | {error, reason()}.
stream(AppPath, Action, Args, Kwargs, Opts) ->
    around(stream, AppPath, Action, Args, Kwargs, Opts, fun remote_stream/5).

-spec remote_stream(app_path(), action(), args(), kwargs(), opts()) -> {ok, generator()} | {error, reason()}.
remote_stream(AppPath, Action, Args, Kwargs, Opts) ->
    case check_call(AppPath, Action, Args, Kwargs, Opts) of
        ok ->
            Timeout = maps:get(timeout, Opts, timeout()),
            Window = maps:get(window, Opts, ?WINDOW),
            Req = {stream, AppPath, Action, Args, Kwargs, Opts#{timeout => Timeout, window => Window}},
            case hornbeam_hooks_nodes:call(name(AppPath), Req, Timeout) of
                {reply, Node, {ok, Ref}} ->
                    DownFun = fun(Reason) -> hornbeam_hooks_nodes:exit_reason(Reason, Node) end,
                    {ok, hornbeam_stream:consumer({hornbeam_hooks, Node}, Ref, Window, Timeout, DownFun)};
                {reply, _, Reply} -> Reply;
                Error -> Error
            end;
        Error ->
            Error
    end.

%% @doc Ends a stream of {@link stream/5} before its end, in the process that owns it: the Go node is told to
%% stop, chunks not yet taken are dropped, `on_stream_end' runs if it has not, and `Gen()' gives `done' from then
%% on. `ok' also when the stream had ended.
-spec close_stream(generator()) -> ok | {error, reason()}.
close_stream(Gen) ->
    case check([{generator, Gen, fun(G) -> is_function(G, 0) end}]) of
        ok -> hornbeam_stream:close(Gen);
        Error -> Error
    end.

%% @doc Describes the handler of `AppPath', wherever it lives.
-spec find(app_path()) -> {ok, info()} | {error, reason()}.
find(AppPath) ->
    case check([{app_path, AppPath, fun is_name/1}]) of
        ok -> call(name(AppPath), {find, AppPath}, timeout());
        Error -> Error
    end.

%% @doc Describes every registered handler.
-spec all() -> {ok, [info()]} | {error, reason()}.
all() ->
    call(undefined, all, timeout()).

%% @doc A stream of the elements of `List', for a handler to return. Its generator keeps no process state,
%% so any process may drive it.
-spec stream_from_list(list()) -> stream().
stream_from_list(List) ->
    Items = list_to_tuple(List),
    Taken = atomics:new(1, [{signed, false}]),
    {hornbeam_stream, fun() ->
        case atomics:add_get(Taken, 1, 1) of
            N when N =< tuple_size(Items) -> {value, element(N, Items)};
            _ -> done
        end
    end}.

-ifdef(TEST).
stream_from_list_test() ->
    {hornbeam_stream, Gen} = stream_from_list([a, b]),
    Self = self(),
    spawn(fun() -> Self ! Gen() end),
    First = receive V -> V end,
    ?assertEqual([{value, a}, {value, b}, done, done], [First, Gen(), Gen(), Gen()]).
-endif.

%% @doc A stream whose chunks come from calling `Gen()' in the process that ran the handler: `Gen' returns
%% {@link stream_chunk/1}, {@link stream_done/0} or `{error, Reason}', and may keep state in that process's
%% dictionary.
-spec stream_from_fun(generator()) -> stream().
stream_from_fun(Gen) when is_function(Gen, 0) ->
    {hornbeam_stream, Gen}.

%% @doc What a generator returns for one chunk.
-spec stream_chunk(term()) -> {value, term()}.
stream_chunk(Chunk) ->
    {value, Chunk}.

%% @doc What a generator returns at the end.
-spec stream_done() -> done.
stream_done() ->
    done.

%% @doc A handler's success value: `{ok, Value}'.
-spec ok(term()) -> {ok, term()}.
ok(Value) ->
    {ok, Value}.

%% @doc A handler's failure value: `{error, Reason}'.
-spec error(term()) -> {error, term()}.
error(Reason) ->
    {error, Reason}.

%% Internal.

-spec timeout() -> non_neg_integer().
timeout() ->
    env(timeout).

%% Reads the application's environment, starting the application first.
-spec env(timeout | hooks) -> term().
env(Key) ->
    ok = ensure_started(),
    {ok, Value} = application:get_env(hornbeam_hooks, Key),
    Value.

%% Starts the application if its server is not running.
-spec ensure_started() -> ok.
ensure_started() ->
    case whereis(hornbeam_hooks_server) of
        undefined ->
            {ok, _} = application:ensure_all_started(hornbeam_hooks),
            ok;
        _ ->
            ok
    end.

%% Sends `Req' to a Go node serving `AppPath' (any, for `undefined'), the next one when a node is down.
-spec call(binary() | undefined, term(), timeout()) -> term().
call(AppPath, Req, Timeout) ->
    case hornbeam_hooks_nodes:call(AppPath, Req, Timeout) of
        {reply, _, Reply} -> Reply;
        Error -> Error
    end.

%% Sends `Req' to the Go node that started the task `TaskId'.
-spec task_call(task_id(), term(), timeout()) -> term().
task_call(TaskId, Req, Timeout) ->
    ok = ensure_started(),
    case hornbeam_hooks_nodes:task_node(TaskId) of
        undefined -> {error, {task_not_found, TaskId}};
        Node -> hornbeam_hooks_nodes:call_node(Node, Req, Timeout)
    end.

%% Checks a call and runs it with `hornbeam_lifecycle:Run/5' around `Remote': the hooks of the application
%% environment, then those of `Opts'. `Remote' gets the request as the hooks left it and `Opts' without `hooks'.
-spec around(execute | execute_async | stream, term(), term(), term(), term(), term(),
    fun((app_path(), action(), args(), kwargs(), opts()) -> {ok, term()} | {error, reason()})) ->
    {ok, term()} | {error, reason()}.
around(Run, AppPath, Action, Args, Kwargs, Opts, Remote) ->
    case check_call(AppPath, Action, Args, Kwargs, Opts) of
        ok ->
            Client = env(hooks),
            case hornbeam_lifecycle:is_hooks(Client) of
                true ->
                    Hooks = Client ++ maps:get(hooks, Opts, []),
                    Call = #{app_path => AppPath, action => Action},
                    Plain = maps:remove(hooks, Opts),
                    hornbeam_lifecycle:Run(Hooks, Call, {Action, Args, Kwargs}, Opts,
                        fun({A, Ar, Kw}) -> Remote(AppPath, A, Ar, Kw, Plain) end);
                false ->
                    {error, {badarg, {hooks, Client}}}
            end;
        Error ->
            Error
    end.

-spec check_call(term(), term(), term(), term(), term()) -> ok | {error, {badarg, {atom(), term()}}}.
check_call(AppPath, Action, Args, Kwargs, Opts) ->
    check([{app_path, AppPath, fun is_name/1}, {action, Action, fun is_name/1},
        {args, Args, fun is_proper_list/1}, {kwargs, Kwargs, fun is_map/1}, {opts, Opts, fun is_opts/1}]).

-spec check([{atom(), term(), fun((term()) -> boolean())}]) -> ok | {error, {badarg, {atom(), term()}}}.
check([]) ->
    ok;
check([{What, Value, Valid} | Rest]) ->
    case Valid(Value) of
        true -> check(Rest);
        false -> {error, {badarg, {What, Value}}}
    end.

-ifdef(TEST).
check_call_test_() ->
    Ok = fun(Call) -> ?_assertEqual(ok, Call) end,
    Bad = fun(What, Call) -> ?_assertMatch({error, {badarg, {What, _}}}, Call) end,
    [Ok(check_call(<<"p">>, a, [1], #{}, #{timeout => 0, window => 1})),
     Bad(app_path, check_call(1, a, [], #{}, #{})),
     Bad(action, check_call(p, "a", [], #{}, #{})),
     Bad(args, check_call(p, a, [1 | 2], #{}, #{})),
     Bad(kwargs, check_call(p, a, [], [], #{})),
     Bad(opts, check_call(p, a, [], #{}, #{timeout => infinity})),
     Bad(opts, check_call(p, a, [], #{}, #{window => 0})),
     Bad(opts, check_call(p, a, [], #{}, [])),
     Ok(check_call(p, a, [], #{}, #{hooks => [hornbeam_hooks]})),
     Bad(opts, check_call(p, a, [], #{}, #{hooks => hornbeam_hooks})),
     Bad(opts, check_call(p, a, [], #{}, #{hooks => [no_such_module]}))].
-endif.

-spec is_name(term()) -> boolean().
is_name(Name) ->
    is_binary(Name) orelse is_atom(Name).

-spec name(app_path()) -> binary().
name(Name) when is_atom(Name) -> atom_to_binary(Name, utf8);
name(Name) -> Name.

-spec is_proper_list(term()) -> boolean().
is_proper_list(List) when is_list(List), length(List) >= 0 -> true;
is_proper_list(_) -> false.

-spec is_timeout(term()) -> boolean().
is_timeout(infinity) -> true;
is_timeout(Ms) -> is_integer(Ms) andalso Ms >= 0.

-spec is_opts(term()) -> boolean().
is_opts(Opts) when is_map(Opts) ->
    Timeout = maps:get(timeout, Opts, 0),
    Window = maps:get(window, Opts, 1),
    is_integer(Timeout) andalso Timeout >= 0 andalso is_integer(Window) andalso Window > 0
        andalso hornbeam_lifecycle:is_hooks(maps:get(hooks, Opts, []));
is_opts(_) ->
    false.

-spec is_exported({module(), atom(), arity()}) -> boolean().
is_exported({M, F, A}) when is_atom(M), is_atom(F), is_integer(A) ->
    _ = code:ensure_loaded(M),
    erlang:function_exported(M, F, A);
is_exported(_) ->
    false.
