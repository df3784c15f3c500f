%% @doc Supervises `hornbeam_hooks_server' and owns the table of Erlang handlers, so they outlive a restart of
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
    Server = #{id => hornbeam_hooks_server, start => {hornbeam_hooks_server, start_link, []}},
    {ok, {#{strategy => one_for_one, intensity => 5, period => 10}, [Server]}}.
