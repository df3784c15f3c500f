%% @doc The consuming end of a stream, shared by {@link hornbeam_hooks:stream/5} and {@link hornbeam_port:stream/6}:
%% the generator that takes the `{hornbeam_stream, Ref, Msg}' messages pushed to its owner and grants credit back.
%%
%% Credit (`{hornbeam_stream_credit, Ref, N}') and close (`{hornbeam_stream_close, Ref}') go to `Dest', which is
%% also monitored: `{hornbeam_hooks, Node}' for a Go node over distribution, the server's pid for a port.
-module(hornbeam_stream).

-ifdef(TEST).
-include_lib("eunit/include/eunit.hrl").
-endif.

%% API.
-export([consumer/5]).
-export([close/1]).
-export([closing/0]).

-type dest() :: pid() | {atom(), node()}.
-type down_fun() :: fun((term()) -> term()).
-export_type([dest/0]).
-export_type([down_fun/0]).

%% The owner's dictionary key of a stream's state, as hornbeam_hooks:stream/5 documents it.
-define(KEY(Ref), {hornbeam_hooks, Ref}).
%% Set in the owner's dictionary while close/1 runs a generator.
-define(CLOSING, hornbeam_stream_closing).

%% API.

%% @doc Returns the generator of the stream `Ref' for the calling process, its owner: each `Gen()' gives
%% `{value, Chunk}', then `done' or `{error, Reason}', and `done' ever after; off the owner it answers
%% `{error, {badarg, {owner, Owner}}}'. Taken chunks are granted back to `Dest' once they make half of
%% `Window'. Each wait for a chunk lasts at most `Timeout' ms; one that times out sends `Dest' a close and
%% gives `{error, timeout}'. When `Dest' goes down, `Gen()' gives `{error, DownFun(Reason)}'.
%%
%% The stream's state lives in the owner's dictionary under `{hornbeam_hooks, Ref}' while it runs: chunks
%% received and not yet returned (a `{chunks, L}' message brings several), and chunks returned and not yet
%% granted back. Its absence means the stream has ended.
-spec consumer(dest(), reference(), pos_integer(), non_neg_integer(), down_fun()) -> hornbeam_hooks:generator().
consumer(Dest, Ref, Window, Timeout, DownFun) ->
    Owner = self(),
    Mon = erlang:monitor(process, Dest),
    put(?KEY(Ref), {[], 0}),
    fun() when self() =/= Owner -> {error, {badarg, {owner, Owner}}};
       () ->
            case closing() of
                false -> next_chunk(Dest, Ref, Mon, Window, Timeout, DownFun);
                true -> stop(Dest, Ref, Mon)
            end
    end.

-ifdef(TEST).
consumer_test() ->
    Self = self(),
    Go = spawn(fun Forward() -> receive Credit -> Self ! Credit, Forward() end end),
    Ref = make_ref(),
    Gen = consumer(Go, Ref, 4, 1000, fun(Reason) -> {exit, Reason} end),
    [Self ! {hornbeam_stream, Ref, Msg} || Msg <- [{chunks, [a, b, c]}, {chunks, []}, {chunk, d}, done]],
    ?assertEqual([{value, a}, {value, b}, {value, c}, {value, d}, done, done], [Gen() || _ <- lists:seq(1, 6)]),
    Credits = [receive {hornbeam_stream_credit, Ref, _} = C -> C end || _ <- [1, 2]],
    exit(Go, kill),
    ?assertEqual([{hornbeam_stream_credit, Ref, 2}, {hornbeam_stream_credit, Ref, 2}], Credits),
    ?assertEqual(undefined, get(?KEY(Ref))).

consumer_down_test() ->
    Go = spawn(fun() -> receive stop -> ok end end),
    Ref = make_ref(),
    Gen = consumer(Go, Ref, 4, 1000, fun(Reason) -> {down, Reason} end),
    exit(Go, kill),
    ?assertEqual([{error, {down, killed}}, done], [Gen(), Gen()]),
    Self = self(),
    spawn(fun() -> Self ! {other, Gen()} end),
    ?assertEqual({other, {error, {badarg, {owner, Self}}}}, receive {other, _} = Other -> Other end).
-endif.

%% @doc Ends the stream of `Gen', a generator of this module or one that wraps it, before its end: the producer
%% is told to stop, chunks not yet taken are dropped (a message it sent before it stopped may still arrive),
%% and `Gen()' gives `done' from then on. `ok' also when the stream had ended. Call it in the process that owns
%% the stream.
-spec close(hornbeam_hooks:generator()) -> ok.
close(Gen) ->
    put(?CLOSING, true),
    try
        _ = Gen(),
        ok
    after
        erase(?CLOSING)
    end.

%% @doc Whether the calling process is in {@link close/1}: a generator that sees `true' ends its stream and
%% gives `done'.
-spec closing() -> boolean().
closing() ->
    get(?CLOSING) =:= true.

-ifdef(TEST).
close_test() ->
    Self = self(),
    Go = spawn(fun Forward() -> receive Msg -> Self ! {go, Msg}, Forward() end end),
    Ref = make_ref(),
    Gen = consumer(Go, Ref, 4, 1000, fun(Reason) -> {exit, Reason} end),
    Self ! {hornbeam_stream, Ref, {chunks, [a, b]}},
    ?assertEqual({value, a}, Gen()),
    ?assertEqual(ok, close(Gen)),
    ?assertEqual({go, {hornbeam_stream_close, Ref}}, receive {go, _} = M -> M end),
    ?assertEqual([done, done], [Gen(), Gen()]),
    ?assertEqual(ok, close(Gen)),
    ?assertNot(closing()),
    ?assertEqual(undefined, get(?KEY(Ref))),
    exit(Go, kill).
-endif.

%% Internal.

-spec next_chunk(dest(), reference(), reference(), pos_integer(), non_neg_integer(), down_fun()) ->
    hornbeam_hooks:next().
next_chunk(Dest, Ref, Mon, Window, Timeout, DownFun) ->
    case get(?KEY(Ref)) of
        undefined ->
            done;
        {[Chunk | Rest], Taken} ->
            put(?KEY(Ref), {Rest, grant(Dest, Ref, Window, Taken + 1)}),
            {value, Chunk};
        {[], Taken} ->
            receive
                {hornbeam_stream, Ref, {chunk, Chunk}} ->
                    put(?KEY(Ref), {[Chunk], Taken}),
                    next_chunk(Dest, Ref, Mon, Window, Timeout, DownFun);
                {hornbeam_stream, Ref, {chunks, Chunks}} when is_list(Chunks) ->
                    put(?KEY(Ref), {Chunks, Taken}),
                    next_chunk(Dest, Ref, Mon, Window, Timeout, DownFun);
                {hornbeam_stream, Ref, done} ->
                    ended(Ref, Mon),
                    done;
                {hornbeam_stream, Ref, {error, Reason}} ->
                    ended(Ref, Mon),
                    {error, Reason};
                {'DOWN', Mon, process, _, Reason} ->
                    erase(?KEY(Ref)),
                    {error, DownFun(Reason)}
            after Timeout ->
                Dest ! {hornbeam_stream_close, Ref},
                ended(Ref, Mon),
                {error, timeout}
            end
    end.

%% Grants `Taken' chunks back once they make half a window; returns how many are left to grant.
-spec grant(dest(), reference(), pos_integer(), pos_integer()) -> non_neg_integer().
grant(Dest, Ref, Window, Taken) when Taken >= Window div 2 ->
    Dest ! {hornbeam_stream_credit, Ref, Taken},
    0;
grant(_Dest, _Ref, _Window, Taken) ->
    Taken.

%% Tells `Dest' to stop a stream that is still running, and forgets it.
-spec stop(dest(), reference(), reference()) -> done.
stop(Dest, Ref, Mon) ->
    case get(?KEY(Ref)) of
        undefined ->
            done;
        _ ->
            Dest ! {hornbeam_stream_close, Ref},
            ended(Ref, Mon),
            flush(Ref)
    end.

%% Drops the messages of a stopped stream that are already in the mailbox.
-spec flush(reference()) -> done.
flush(Ref) ->
    receive
        {hornbeam_stream, Ref, _} -> flush(Ref)
    after 0 ->
        done
    end.

-spec ended(reference(), reference()) -> ok.
ended(Ref, Mon) ->
    erase(?KEY(Ref)),
    erlang:demonitor(Mon, [flush]),
    ok.
