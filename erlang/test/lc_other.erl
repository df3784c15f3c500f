%% @doc A second recording hook for the tests, to see the order of several hooks; see {@link lc_hook}.
-module(lc_other).
-behaviour(hornbeam_lifecycle).

%% hornbeam_lifecycle.
-export([on_call_start/3]).
-export([on_call_end/3]).
-export([on_call_error/3]).
-export([on_stream_start/3]).
-export([on_stream_chunk/3]).
-export([on_stream_end/2]).

%% hornbeam_lifecycle.

%% @doc Records and runs `on_call_start'.
on_call_start(Call, Request, Context) -> lc_hook:run(?MODULE, on_call_start, [Call, Request, Context]).

%% @doc Records and runs `on_call_end'.
on_call_end(Call, Result, Context) -> lc_hook:run(?MODULE, on_call_end, [Call, Result, Context]).

%% @doc Records and runs `on_call_error'.
on_call_error(Call, Reason, Context) -> lc_hook:run(?MODULE, on_call_error, [Call, Reason, Context]).

%% @doc Records and runs `on_stream_start'.
on_stream_start(Call, Request, Context) -> lc_hook:run(?MODULE, on_stream_start, [Call, Request, Context]).

%% @doc Records and runs `on_stream_chunk'.
on_stream_chunk(Call, Chunk, Context) -> lc_hook:run(?MODULE, on_stream_chunk, [Call, Chunk, Context]).

%% @doc Records and runs `on_stream_end'.
on_stream_end(Call, Context) -> lc_hook:run(?MODULE, on_stream_end, [Call, Context]).
