%% @doc Helpers shared by the test modules that run the real Go program: where it and the repository are, and
%% polling until a condition holds.
-module(hornbeam_test_lib).

%% API.
-export([bin/0]).
-export([root/0]).
-export([wait_until/1]).
-export([ensure_distributed/0]).
-export([discovery_env/0]).

%% API.

%% @doc The hornbeam binary: the environment variable HORNBEAM_BIN, else `go build ./cmd/hornbeam' at the root of
%% the repository into erlang/_build/hornbeam.
-spec bin() -> file:filename().
bin() ->
    case os:getenv("HORNBEAM_BIN") of
        false ->
            Root = root(),
            Bin = filename:join(Root, "erlang/_build/hornbeam"),
            "" = os:cmd(lists:flatten(io_lib:format("cd ~ts && go build -o ~ts ./cmd/hornbeam 2>&1", [Root, Bin]))),
            Bin;
        Bin ->
            Bin
    end.

%% @doc The root of the repository: the nearest directory at or above the current one that holds go.mod.
-spec root() -> file:filename().
root() ->
    root(filename:absname("")).

%% @doc Calls `Check()' every 50 ms until it returns `true', for up to 10 s; `false' if it never does.
-spec wait_until(fun(() -> boolean())) -> boolean().
wait_until(Check) ->
    wait_until(Check, 200).

%% @doc Makes the local node distributed (as `hbtest_OsPid@localhost') unless it already is.
-spec ensure_distributed() -> ok.
ensure_distributed() ->
    case is_alive() of
        true ->
            ok;
        false ->
            [] = os:cmd("epmd -daemon"),
            {ok, _} = net_kernel:start([list_to_atom("hbtest_" ++ os:getpid() ++ "@localhost"), shortnames]),
            ok
    end.

%% @doc Stops the application and sets it up to find Go nodes through pg only: `nodes' unset, a seed node that
%% does not exist, a 2 s timeout.
-spec discovery_env() -> ok.
discovery_env() ->
    _ = application:stop(hornbeam_hooks),
    _ = application:load(hornbeam_hooks),
    ok = application:unset_env(hornbeam_hooks, nodes),
    ok = application:set_env(hornbeam_hooks, seed, list_to_atom("nobody_" ++ os:getpid() ++ "@localhost")),
    ok = application:set_env(hornbeam_hooks, timeout, 2000),
    ok.

%% Internal.

-spec root(file:filename()) -> file:filename().
root(Dir) ->
    case filelib:is_regular(filename:join(Dir, "go.mod")) of
        true -> Dir;
        false when Dir =/= "/" -> root(filename:dirname(Dir))
    end.

-spec wait_until(fun(() -> boolean()), non_neg_integer()) -> boolean().
wait_until(_Check, 0) ->
    false;
wait_until(Check, Tries) ->
    case Check() of
        true -> true;
        false -> timer:sleep(50), wait_until(Check, Tries - 1)
    end.
