%% @doc The `hornbeam_hooks' application: starts `hornbeam_hooks_sup'.
-module(hornbeam_hooks_app).
-behaviour(application).

%% application.
-export([start/2]).
-export([stop/1]).

%% application.

%% @private
-spec start(application:start_type(), term()) -> {ok, pid()}.
start(_Type, _Args) ->
    hornbeam_hooks_sup:start_link().

%% @private
-spec stop(term()) -> ok.
stop(_State) ->
    ok.
