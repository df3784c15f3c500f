%% @doc A lifecycle hook for the tests: each callback records itself in the caller's trail, then runs the fun the
%% test put in the caller's dictionary under `{Mod, Callback}', or passes the value on.
-module(lc_hook).
-behaviour(hornbeam_lifecycle).

%% hornbeam_lifecycle.
-export([on_call_start/3]).
-export([on_call_end/3]).
-export([on_call_error/3]).
-export([on_stream_start/3]).
-export([on_stream_chunk/3]).
-export([on_stream_end/2]).

%% API.
-export([run/3]).
-export([trail/0]).

%% hornbeam_lifecycle.

%% @doc Records and runs `on_call_start'.
on_call_start(Call, Request, Context) -> run(?MODULE, on_call_start, [Call, Request, Context]).

%% @doc Records and runs `on_call_end'.
on_call_end(Call, Result, Context) -> run(?MODULE, on_call_end, [Call, Result, Context]).

%% @doc Records and runs `on_call_error'.
on_call_error(Call, Reason, Context) -> run(?MODULE, on_call_error, [Call, Reason, Context]).

%% @doc Records and runs `on_stream_start'.
on_stream_start(Call, Request, Context) -> run(?MODULE, on_stream_start, [Call, Request, Context]).

%% @doc Records and runs `on_stream_chunk'.
on_stream_chunk(Call, Chunk, Context) -> run(?MODULE, on_stream_chunk, [Call, Chunk, Context]).

%% @doc Records and runs `on_stream_end'.
on_stream_end(Call, Context) -> run(?MODULE, on_stream_end, [Call, Context]).

%% API.

%% @doc Appends `{Mod, Callback, Value}' (Value: the second argument, or `none') to the caller's trail and
%% runs the fun under `{Mod, Callback}' in its dictionary; without one, `{cont, Value}' or `ok'.
-spec run(module(), hornbeam_lifecycle:callback(), [term()]) -> term().
run(Mod, Callback, Args) ->
    Value = case Args of
        [_, V, _] -> V;
        [_, _] -> none
    end,
    put(lc_trail, [{Mod, Callback, Value} | get_trail()]),
    case get({Mod, Callback}) of
        undefined when Callback =:= on_call_start; Callback =:= on_call_end; Callback =:= on_stream_start ->
            {cont, Value};
        undefined ->
            ok;
        Fun ->
            apply(Fun, Args)
    end.

%% @doc Returns the caller's trail, oldest first, and empties it.
-spec trail() -> [{module(), hornbeam_lifecycle:callback(), term()}].
trail() ->
    lists:reverse(case erase(lc_trail) of undefined -> []; T -> T end).

%% Internal.

get_trail() ->
    case get(lc_trail) of
        undefined -> [];
        T -> T
    end.
