%% @doc Lifecycle hooks for callers: modules that observe and transform each stage of a call that
%% {@link hornbeam_hooks} makes, after the Elixir `Puck.Hooks' behaviour (docs/lifecycle.md).
%%
%% A hook is a module with any of the optional callbacks below. They run in the caller's process, in list
%% order: the client-level hooks of the application environment `hooks' first, then the per-call hooks of
%% `Opts' (`#{hooks => [Mod]}'). `Call' is `#{app_path := AppPath, action := Action}' as the caller made the
%% call; `Context' is the call's `Opts'.
%%
%% Transforming callbacks return `{cont, Value}' (go on with Value), `{halt, Response}' (stop here: the call
%% answers `{ok, Response}' and the Go node is not called) or `{error, Reason}' (stop here: the call answers
%% `{error, Reason}'). A module that does not export a callback passes the value on. A callback that raises, or
%% returns anything else, stops the call with `{error, {hook, Mod, {Callback, Why}}}', where `Why' is
%% `{Class, Reason, Stacktrace}' or `{bad_return, Returned}'.
%% <ul>
%% <li>`on_call_start(Call, {Action, Args, Kwargs}, Context)': before `execute' and `execute_async'.</li>
%% <li>`on_call_end(Call, Result, Context)': after a call succeeded, on its value; for a task, when the
%%     process that started it awaits its result.</li>
%% <li>`on_stream_start(Call, {Action, Args, Kwargs}, Context)': before `stream'; `{halt, Chunks}' (a list)
%%     makes the stream give those chunks.</li>
%% </ul>
%% Observational callbacks return anything; one that raises is logged and skipped.
%% <ul>
%% <li>`on_call_error(Call, Reason, Context)': the Go node or the handler failed the call, its task, its
%%     stream's start, or its stream midway. Errors that hooks return are not reported here.</li>
%% <li>`on_stream_chunk(Call, Chunk, Context)': each chunk, once, in order, as the caller takes it.</li>
%% <li>`on_stream_end(Call, Context)': once, when the stream gives `done' or an error (also when it fails to
%%     start), or is closed early with {@link hornbeam_hooks:close_stream/1}.</li>
%% </ul>
%% A halted call or stream runs no further callbacks.
-module(hornbeam_lifecycle).

-ifdef(TEST).
-include_lib("eunit/include/eunit.hrl").
-endif.

%% API.
-export([execute/5]).
-export([execute_async/5]).
-export([await_result/2]).
-export([cancel/2]).
-export([stream/5]).
-export([is_hooks/1]).

-type call() :: #{app_path := hornbeam_hooks:app_path(), action := hornbeam_hooks:action()}.
-type request() :: {hornbeam_hooks:action(), hornbeam_hooks:args(), hornbeam_hooks:kwargs()}.
-type context() :: hornbeam_hooks:opts().
-type transform(T) :: {cont, T} | {halt, term()} | {error, term()}.
-type callback() :: on_call_start | on_call_end | on_call_error | on_stream_start | on_stream_chunk
    | on_stream_end.
-type remote(T) :: fun((request()) -> {ok, T} | {error, term()}).
-export_type([call/0]).
-export_type([request/0]).
-export_type([context/0]).
-export_type([transform/1]).
-export_type([callback/0]).

-callback on_call_start(call(), request(), context()) -> transform(request()).
-callback on_call_end(call(), term(), context()) -> transform(term()).
-callback on_call_error(call(), term(), context()) -> term().
-callback on_stream_start(call(), request(), context()) -> transform(request()).
-callback on_stream_chunk(call(), term(), context()) -> term().
-callback on_stream_end(call(), context()) -> term().
-optional_callbacks([on_call_start/3, on_call_end/3, on_call_error/3, on_stream_start/3, on_stream_chunk/3,
    on_stream_end/2]).

%% The caller's dictionary key of a task started with hooks: `{Hooks, Call, Context}', or `{halted, Response}'.
-define(TASK(TaskId), {hornbeam_lifecycle_task, TaskId}).

%% API.

%% @doc Runs `Remote(Request)' for the call `Call' between the `Hooks'' `on_call_start' and `on_call_end', and
%% reports its failure to `on_call_error'.
-spec execute([module()], call(), request(), context(), remote(term())) -> {ok, term()} | {error, term()}.
execute([], _Call, Request, _Context, Remote) ->
    Remote(Request);
execute(Hooks, Call, Request, Context, Remote) ->
    case run(Hooks, on_call_start, Call, Request, Context) of
        {cont, Request2} -> finish(Hooks, Call, Context, Remote(Request2));
        {halt, Response} -> {ok, Response};
        Error -> Error
    end.

%% @doc Runs `on_call_start' and starts the task with `Remote(Request)'; the calling process remembers the
%% task's hooks for {@link await_result/2}. A halted start gives a task id known only to this process, whose
%% result is the halt's response.
-spec execute_async([module()], call(), request(), context(), remote(binary())) ->
    {ok, binary()} | {error, term()}.
execute_async([], _Call, Request, _Context, Remote) ->
    Remote(Request);
execute_async(Hooks, Call, Request, Context, Remote) ->
    case run(Hooks, on_call_start, Call, Request, Context) of
        {cont, Request2} ->
            case Remote(Request2) of
                {ok, TaskId} ->
                    put(?TASK(TaskId), {Hooks, Call, Context}),
                    {ok, TaskId};
                Error ->
                    observe(Hooks, on_call_error, [Call, element(2, Error), Context]),
                    Error
            end;
        {halt, Response} ->
            TaskId = <<"hornbeam_lifecycle-", (integer_to_binary(erlang:unique_integer([positive])))/binary>>,
            put(?TASK(TaskId), {halted, Response}),
            {ok, TaskId};
        Error ->
            Error
    end.

%% @doc Awaits a task with `Remote()', running `on_call_end' or `on_call_error' when this process started it
%% with hooks. `{error, timeout}' leaves the task, and its hooks, for a later await.
-spec await_result(binary(), fun(() -> {ok, term()} | {error, term()})) -> {ok, term()} | {error, term()}.
await_result(TaskId, Remote) ->
    case get(?TASK(TaskId)) of
        undefined ->
            Remote();
        {halted, Response} ->
            erase(?TASK(TaskId)),
            {ok, Response};
        {Hooks, Call, Context} ->
            case Remote() of
                {error, timeout} = Timeout ->
                    Timeout;
                Result ->
                    erase(?TASK(TaskId)),
                    finish(Hooks, Call, Context, Result)
            end
    end.

%% @doc Cancels a task with `Remote()' and forgets its hooks; a halted task is only forgotten.
-spec cancel(binary(), fun(() -> ok | {error, term()})) -> ok | {error, term()}.
cancel(TaskId, Remote) ->
    case erase(?TASK(TaskId)) of
        {halted, _} -> ok;
        _ -> Remote()
    end.

%% @doc Runs `on_stream_start', starts the stream with `Remote(Request)' and returns a generator that shows
%% each chunk to `on_stream_chunk' and the end to `on_stream_end', once; a failed start is shown to
%% `on_call_error' and `on_stream_end'. The generator works, as the one it
%% wraps, only in the calling process.
-spec stream([module()], call(), request(), context(), remote(hornbeam_hooks:generator())) ->
    {ok, hornbeam_hooks:generator()} | {error, term()}.
stream([], _Call, Request, _Context, Remote) ->
    Remote(Request);
stream(Hooks, Call, Request, Context, Remote) ->
    case run(Hooks, on_stream_start, Call, Request, Context) of
        {cont, Request2} ->
            case Remote(Request2) of
                {ok, Gen} ->
                    {ok, observed(Hooks, Call, Context, Gen)};
                Error ->
                    observe(Hooks, on_call_error, [Call, element(2, Error), Context]),
                    observe(Hooks, on_stream_end, [Call, Context]),
                    Error
            end;
        {halt, Chunks} ->
            {ok, replay(Chunks)};
        Error ->
            Error
    end.

%% @doc Whether `Hooks' is a list of modules that can be loaded.
-spec is_hooks(term()) -> boolean().
is_hooks(Hooks) when is_list(Hooks) ->
    lists:all(fun(Mod) -> is_atom(Mod) andalso code:ensure_loaded(Mod) =:= {module, Mod} end, Hooks);
is_hooks(_) ->
    false.

%% Internal.

%% Runs the transforming `Callback' of each hook in order on `Value'.
-spec run([module()], on_call_start | on_call_end | on_stream_start, call(), term(), context()) ->
    transform(term()).
run([], _Callback, _Call, Value, _Context) ->
    {cont, Value};
run([Mod | Hooks], Callback, Call, Value, Context) ->
    case erlang:function_exported(Mod, Callback, 3) of
        false ->
            run(Hooks, Callback, Call, Value, Context);
        true ->
            try Mod:Callback(Call, Value, Context) of
                Return ->
                    case valid(Callback, Return) of
                        true when element(1, Return) =:= cont ->
                            run(Hooks, Callback, Call, element(2, Return), Context);
                        true ->
                            Return;
                        false ->
                            {error, {hook, Mod, {Callback, {bad_return, Return}}}}
                    end
            catch
                Class:Reason:Stack -> {error, {hook, Mod, {Callback, {Class, Reason, Stack}}}}
            end
    end.

%% Whether a transforming callback's return is one it may give.
-spec valid(on_call_start | on_call_end | on_stream_start, term()) -> boolean().
valid(on_call_end, {cont, _}) -> true;
valid(_, {cont, {_, _, _}}) -> true;
valid(on_stream_start, {halt, Chunks}) when is_list(Chunks), length(Chunks) >= 0 -> true;
valid(on_stream_start, {halt, _}) -> false;
valid(_, {halt, _}) -> true;
valid(_, {error, _}) -> true;
valid(_, _) -> false.

-ifdef(TEST).
valid_test_() ->
    [?_assertEqual(Want, valid(Callback, Return)) || {Callback, Return, Want} <- [
        {on_call_start, {cont, {a, [], #{}}}, true},
        {on_call_start, {cont, [1]}, false},
        {on_call_end, {cont, [1]}, true},
        {on_call_start, {halt, x}, true},
        {on_stream_start, {halt, [x]}, true},
        {on_stream_start, {halt, x}, false},
        {on_stream_start, {halt, [x | y]}, false},
        {on_call_end, {error, x}, true},
        {on_call_end, ok, false},
        {on_call_end, {ok, 1}, false}
    ]].
-endif.

%% Calls the observational `Callback' of each hook in order; a hook that raises is logged and skipped.
-spec observe([module()], on_call_error | on_stream_chunk | on_stream_end, [term()]) -> ok.
observe(Hooks, Callback, Args) ->
    Arity = length(Args),
    lists:foreach(fun(Mod) ->
        case erlang:function_exported(Mod, Callback, Arity) of
            true ->
                try
                    apply(Mod, Callback, Args)
                catch
                    Class:Reason:Stack ->
                        logger:warning("hornbeam_lifecycle: ~p:~p/~p raised ~p:~p, ignored~n~p",
                            [Mod, Callback, Arity, Class, Reason, Stack])
                end;
            false ->
                ok
        end
    end, Hooks).

%% The end of a call: `on_call_end' on success, `on_call_error' on failure.
-spec finish([module()], call(), context(), {ok, term()} | {error, term()}) -> {ok, term()} | {error, term()}.
finish(Hooks, Call, Context, {ok, Value}) ->
    case run(Hooks, on_call_end, Call, Value, Context) of
        {cont, Value2} -> {ok, Value2};
        {halt, Response} -> {ok, Response};
        Error -> Error
    end;
finish(Hooks, Call, Context, {error, Reason}) ->
    observe(Hooks, on_call_error, [Call, Reason, Context]),
    {error, Reason}.

%% `Gen', with its chunks and its end shown to the hooks. Whether the end was shown is kept in the owner's
%% dictionary, under a key of its own, until then.
-spec observed([module()], call(), context(), hornbeam_hooks:generator()) -> hornbeam_hooks:generator().
observed(Hooks, Call, Context, Gen) ->
    Owner = self(),
    Open = {hornbeam_lifecycle_stream, make_ref()},
    put(Open, true),
    fun() when self() =/= Owner ->
            Gen();
       () ->
            case {get(Open), Gen()} of
                {true, {value, Chunk} = Next} ->
                    observe(Hooks, on_stream_chunk, [Call, Chunk, Context]),
                    Next;
                {true, Next} ->
                    erase(Open),
                    case Next of
                        {error, Reason} -> observe(Hooks, on_call_error, [Call, Reason, Context]);
                        done -> ok
                    end,
                    observe(Hooks, on_stream_end, [Call, Context]),
                    Next;
                {undefined, Next} ->
                    Next
            end
    end.

%% A generator of `Chunks' for the calling process; {@link hornbeam_hooks:close_stream/1} ends it.
-spec replay(list()) -> hornbeam_hooks:generator().
replay(Chunks) ->
    Owner = self(),
    Key = {hornbeam_lifecycle_replay, make_ref()},
    put(Key, Chunks),
    fun() when self() =/= Owner ->
            {error, {badarg, {owner, Owner}}};
       () ->
            case {get(Key), hornbeam_stream:closing()} of
                {[Chunk | Rest], false} ->
                    put(Key, Rest),
                    {value, Chunk};
                _ ->
                    erase(Key),
                    done
            end
    end.

-ifdef(TEST).
replay_test() ->
    Gen = replay([a, b, c]),
    ?assertEqual([{value, a}, {value, b}], [Gen(), Gen()]),
    ok = hornbeam_stream:close(Gen),
    ?assertEqual(done, Gen()).
-endif.
