%% @doc Supervises the `pg' scope Go nodes are found in (when this application starts it) and
%% `hornbeam_hooks_server', and owns the tables of Erlang handlers and of task nodes, so they outlive a restart of
%% the server.
-module(hornbeam_hooks_sup).
-behaviour(supervisor).

%% API.
-export([start_link/0]).

%% supervisor.
-export([init/1]).

%% API.

%% @doc Starts the supervisor, registered locally as `hornbeam_hooks_sup'.
-spec start_link() -> {ok, pid()}.
start_link() ->
    supervisor:start_link({local, ?MODULE}, ?MODULE, []).

%% supervisor.

%% @private
-spec init([]) -> {ok, {supervisor:sup_flags(), [supervisor:child_spec()]}}.
init([]) ->
    ok = hornbeam_hooks_server:new_table(),
    ok = hornbeam_hooks_nodes:new_table(),
    Scope = #{id => pg, start => {hornbeam_hooks_nodes, start_scope, []}},
    Server = #{id => hornbeam_hooks_server, start => {hornbeam_hooks_server, start_link, []}},
    {ok, {#{strategy => rest_for_one, intensity => 5, period => 10}, [Scope, Server]}}.
