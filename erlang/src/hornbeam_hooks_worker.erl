%% @doc One call of an Erlang handler, in a fresh process started by `hornbeam_hooks_server'.
%%
%% The worker runs the handler and sends `{hornbeam_worker, self(), Reply}' to the server, which answers the
%% Go node and enforces the deadline. For a stream call the reply is `{ok, StreamRef, self()}'; the worker then
%% waits for `{hornbeam_go, Consumer}' and drives the generator itself, so a generator may keep state in this
%% process's dictionary (if the server goes first, the worker ends). It sends at most the granted credit ahead, starting from the `window' option, and
%% stops on `{hornbeam_stream_close, StreamRef}' or when the consumer exits.
-module(hornbeam_hooks_worker).

%% API.
-export([run/4]).

-ifdef(TEST).
-include_lib("eunit/include/eunit.hrl").
-endif.

-define(WINDOW, 256).

-type call() :: {Action :: binary(), hornbeam_hooks:args(), hornbeam_hooks:kwargs(), map()}.
-export_type([call/0]).

%% API.

%% @doc Runs `Handler' for `Call' and reports to `Server': for `execute' the handler's value (a stream drained
%% into a list), for `stream' a stream (any other value becomes a stream of that one chunk).
-spec run(pid(), execute | stream, hornbeam_hooks_server:handler(), call()) -> ok.
run(Server, execute, Handler, Call) ->
    Server ! {hornbeam_worker, self(), value(apply_handler(Handler, Call))},
    ok;
run(Server, stream, Handler, Call = {_, _, _, Opts}) ->
    case generator(apply_handler(Handler, Call)) of
        {ok, Gen} ->
            Ref = make_ref(),
            ServerMon = erlang:monitor(process, Server),
            Server ! {hornbeam_worker, self(), {ok, Ref, self()}},
            receive
                {hornbeam_go, Consumer} ->
                    erlang:demonitor(ServerMon, [flush]),
                    Mon = erlang:monitor(process, Consumer),
                    produce(Consumer, Ref, Gen, window(Opts), Mon);
                {'DOWN', ServerMon, process, Server, _} ->
                    ok
            end;
        Error ->
            Server ! {hornbeam_worker, self(), Error},
            ok
    end.

%% Internal.

-spec apply_handler(hornbeam_hooks_server:handler(), call()) -> term().
apply_handler(Handler, {Action, Args, Kwargs, _}) ->
    try
        case Handler of
            {M, F} -> M:F(Action, Args, Kwargs);
            Fun -> Fun(Action, Args, Kwargs)
        end
    catch
        Class:Reason:Stack -> {error, {erlang, Class, Reason, Stack}}
    end.

-spec value(term()) -> term().
value({ok, {hornbeam_stream, Gen}}) ->
    case drain(Gen, []) of
        {error, _} = Error -> Error;
        List -> {ok, List}
    end;
value({hornbeam_stream, Gen}) ->
    drain(Gen, []);
value(Value) ->
    Value.

-spec drain(hornbeam_hooks:generator(), list()) -> list() | {error, term()}.
drain(Gen, Acc) ->
    case next(Gen) of
        {value, Chunk} -> drain(Gen, [Chunk | Acc]);
        done -> lists:reverse(Acc);
        Error -> Error
    end.

-ifdef(TEST).
value_test_() ->
    Fail = fun() -> {error, broken} end,
    [?_assertEqual([1, 2], value(hornbeam_hooks:stream_from_list([1, 2]))),
     ?_assertEqual({ok, []}, value({ok, hornbeam_hooks:stream_from_list([])})),
     ?_assertEqual({error, broken}, value(hornbeam_hooks:stream_from_fun(Fail))),
     ?_assertEqual({error, {bad_stream, 7}}, value(hornbeam_hooks:stream_from_fun(fun() -> 7 end))),
     ?_assertMatch({error, {erlang, error, boom, [_ | _]}}, value(hornbeam_hooks:stream_from_fun(fun() -> error(boom) end))),
     ?_assertEqual(3, value(3))].
-endif.

-spec generator(term()) -> {ok, hornbeam_hooks:generator()} | {error, term()}.
generator({error, _} = Error) -> Error;
generator({ok, Value}) -> generator(Value);
generator({hornbeam_stream, Gen}) -> {ok, Gen};
generator(Value) -> generator(hornbeam_hooks:stream_from_list([Value])).

-ifdef(TEST).
generator_test_() ->
    Gen = fun() -> done end,
    [?_assertEqual({ok, Gen}, generator({hornbeam_stream, Gen})),
     ?_assertEqual({ok, Gen}, generator({ok, {hornbeam_stream, Gen}})),
     ?_assertEqual({error, x}, generator({error, x})),
     ?_assertEqual([5], drain(element(2, generator({ok, 5})), []))].
-endif.

-spec next(hornbeam_hooks:generator()) -> hornbeam_hooks:next().
next(Gen) ->
    try Gen() of
        {value, _} = Value -> Value;
        done -> done;
        {error, _} = Error -> Error;
        Other -> {error, {bad_stream, Other}}
    catch
        Class:Reason:Stack -> {error, {erlang, Class, Reason, Stack}}
    end.

-spec window(map()) -> pos_integer().
window(#{window := N}) when is_integer(N), N > 0 -> N;
window(_) -> ?WINDOW.

-spec produce(pid(), reference(), hornbeam_hooks:generator(), non_neg_integer(), reference()) -> ok.
produce(Consumer, Ref, Gen, Credit, Mon) ->
    receive
        {hornbeam_stream_credit, Ref, N} when is_integer(N), N > 0 ->
            produce(Consumer, Ref, Gen, Credit + N, Mon);
        {hornbeam_stream_close, Ref} ->
            ok;
        {'DOWN', Mon, process, _, _} ->
            ok
    after wait(Credit) ->
        case next(Gen) of
            {value, Chunk} ->
                Consumer ! {hornbeam_stream, Ref, {chunk, Chunk}},
                produce(Consumer, Ref, Gen, Credit - 1, Mon);
            Last ->
                Consumer ! {hornbeam_stream, Ref, Last},
                ok
        end
    end.

-spec wait(non_neg_integer()) -> timeout().
wait(0) -> infinity;
wait(_) -> 0.

-ifdef(TEST).
produce_test() ->
    Self = self(),
    Ref = make_ref(),
    Worker = spawn(fun() ->
        Mon = erlang:monitor(process, Self),
        produce(Self, Ref, element(2, hornbeam_hooks:stream_from_list([a, b, c])), 2, Mon)
    end),
    Chunks = fun() -> receive {hornbeam_stream, Ref, M} -> M after 1000 -> timeout end end,
    ?assertEqual([{chunk, a}, {chunk, b}], [Chunks(), Chunks()]),
    receive {hornbeam_stream, Ref, _} = Early -> ?assertEqual(no_message_without_credit, Early) after 50 -> ok end,
    Worker ! {hornbeam_stream_credit, Ref, 2},
    ?assertEqual([{chunk, c}, done], [Chunks(), Chunks()]).
-endif.
