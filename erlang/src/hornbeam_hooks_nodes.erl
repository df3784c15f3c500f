%% @doc Which Go nodes serve a call, and failing over to the next one when a node is gone.
%%
%% With the application environment `nodes' set, the candidates are that list, connected nodes first, each
%% group in the list's order. With `nodes' unset they come from OTP `pg', in the scope of the application
%% environment `pg_scope' (default `hornbeam'; this application starts it when nothing else has): the nodes of
%% the members of the group `<<AppPath>>' in a random order, so that calls spread over them; then the nodes of
%% the group `hornbeam_hooks', which every Go node joins; then the application environment `seed' (default
%% `hornbeam@localhost'), the node to try when `pg' knows none yet.
%%
%% {@link call/3} sends a request to the first candidate; when that node is down or runs no `hornbeam_hooks'
%% server, before or while the call runs, it tries the next one within the same deadline. The caller gets one
%% answer: the first node's reply, or the error of the last node tried. A request that reached a node which
%% then went down may have run there as well as on the node that answered.
%%
%% Async tasks live on the node that started them: {@link remember_task/2} records it, so that awaiting and
%% cancelling go there whatever the candidates are by then.
-module(hornbeam_hooks_nodes).

-ifdef(TEST).
-include_lib("eunit/include/eunit.hrl").
-endif.

%% API.
-export([new_table/0]).
-export([scope/0]).
-export([start_scope/0]).
-export([candidates/1]).
-export([call/3]).
-export([call_node/3]).
-export([exit_reason/2]).
-export([remember_task/2]).
-export([task_node/1]).
-export([forget_task/1]).

-define(TASKS, hornbeam_hooks_tasks).
%% A task's node is forgotten this long after it was recorded (the Go node keeps a result 5 minutes).
-define(TASK_TTL_MS, 600000).
-define(SEED, 'hornbeam@localhost').
-define(NODES_GROUP, hornbeam_hooks).

-type app_path() :: binary() | undefined.
-export_type([app_path/0]).

%% API.

%% @doc Creates the table of task nodes in the calling process, which owns it; the supervisor calls this.
-spec new_table() -> ok.
new_table() ->
    ?TASKS = ets:new(?TASKS, [named_table, public, {write_concurrency, true}]),
    ok.

%% @doc The `pg' scope Go nodes join their hooks in: the application environment `pg_scope', default `hornbeam'.
-spec scope() -> atom().
scope() ->
    application:get_env(hornbeam_hooks, pg_scope, hornbeam).

%% @doc Starts the `pg' scope for the supervisor, or `ignore' when it is running already or `nodes' is set.
-spec start_scope() -> {ok, pid()} | ignore.
start_scope() ->
    case static_nodes() of
        undefined ->
            case pg:start_link(scope()) of
                {ok, Pid} -> {ok, Pid};
                {error, {already_started, _}} -> ignore
            end;
        _ ->
            ignore
    end.

%% @doc The nodes to try for a call on `AppPath' (`undefined' for a call on no path), best first.
-spec candidates(app_path()) -> [node()].
candidates(AppPath) ->
    case static_nodes() of
        undefined -> discovered(AppPath);
        Nodes -> connected_first(Nodes)
    end.

%% @doc Sends `Req' to `hornbeam_hooks' on the candidates for `AppPath' in turn until one answers within
%% `Timeout' ms in all: `{reply, Node, Reply}', or `{error, Reason}' when none could be reached.
-spec call(app_path(), term(), timeout()) -> {reply, node(), term()} | {error, hornbeam_hooks:reason()}.
call(AppPath, Req, Timeout) ->
    case candidates(AppPath) of
        [] -> {error, {no_node, AppPath}};
        Nodes -> call_first(Nodes, Req, deadline(Timeout))
    end.

%% @doc Sends `Req' to `hornbeam_hooks' on `Node' and returns its reply, or `{error, Reason}' for a call that
%% exited (see {@link exit_reason/2}).
-spec call_node(node(), term(), timeout()) -> term().
call_node(Node, Req, Timeout) ->
    case try_node(Node, Req, Timeout) of
        {reply, Reply} -> Reply;
        {down, Reason} -> {error, Reason};
        {exit, Reason} -> {error, Reason}
    end.

%% @doc How an exit of a call to, or a monitor of, `{hornbeam_hooks, Node}' reads as an error reason.
-spec exit_reason(term(), node()) -> hornbeam_hooks:reason().
exit_reason(timeout, _) -> timeout;
exit_reason({nodedown, Node}, _) -> {nodedown, Node};
exit_reason(noconnection, Node) -> {nodedown, Node};
exit_reason(noproc, Node) -> {noproc, Node};
exit_reason(Reason, _) -> {exit, Reason}.

-ifdef(TEST).
exit_reason_test_() ->
    [?_assertEqual(Want, exit_reason(Exit, n@h)) || {Exit, Want} <- [
        {timeout, timeout},
        {{nodedown, m@h}, {nodedown, m@h}},
        {noconnection, {nodedown, n@h}},
        {noproc, {noproc, n@h}},
        {killed, {exit, killed}}
    ]].
-endif.

%% @doc Records that the task `TaskId' runs on `Node'.
-spec remember_task(binary(), node()) -> ok.
remember_task(TaskId, Node) ->
    Now = erlang:monotonic_time(millisecond),
    true = ets:insert(?TASKS, {TaskId, Node, Now}),
    _ = ets:select_delete(?TASKS, [{{'_', '_', '$1'}, [{'<', '$1', Now - ?TASK_TTL_MS}], [true]}]),
    ok.

%% @doc The node that started `TaskId', else the best candidate for a call on no path.
-spec task_node(binary()) -> node() | undefined.
task_node(TaskId) ->
    case ets:lookup(?TASKS, TaskId) of
        [{_, Node, _}] -> Node;
        [] ->
            case candidates(undefined) of
                [Node | _] -> Node;
                [] -> undefined
            end
    end.

%% @doc Forgets where `TaskId' runs, once its result was taken or it was cancelled.
-spec forget_task(binary()) -> ok.
forget_task(TaskId) ->
    true = ets:delete(?TASKS, TaskId),
    ok.

%% Internal.

-spec static_nodes() -> [node()] | undefined.
static_nodes() ->
    application:get_env(hornbeam_hooks, nodes, undefined).

-spec discovered(app_path()) -> [node()].
discovered(AppPath) ->
    Serving = case AppPath of
        undefined -> [];
        _ -> shuffle(member_nodes(AppPath))
    end,
    Others = shuffle(member_nodes(?NODES_GROUP) -- Serving),
    Seed = application:get_env(hornbeam_hooks, seed, ?SEED),
    Serving ++ Others ++ ([Seed] -- (Serving ++ Others)).

%% The nodes of the members of `Group' in the scope, none when the scope is not running.
-spec member_nodes(term()) -> [node()].
member_nodes(Group) ->
    try pg:get_members(scope(), Group) of
        Pids -> lists:usort([node(Pid) || Pid <- Pids])
    catch
        error:badarg -> []
    end.

-spec connected_first([node()]) -> [node()].
connected_first(Nodes) ->
    Connected = nodes(connected),
    {Up, Down} = lists:partition(fun(N) -> lists:member(N, Connected) end, Nodes),
    Up ++ Down.

-spec shuffle([node()]) -> [node()].
shuffle(Nodes) ->
    [N || {_, N} <- lists:sort([{rand:uniform(), N} || N <- Nodes])].

-spec deadline(timeout()) -> integer() | infinity.
deadline(infinity) -> infinity;
deadline(Ms) -> erlang:monotonic_time(millisecond) + Ms.

-spec remaining(integer() | infinity) -> timeout().
remaining(infinity) -> infinity;
remaining(Deadline) -> max(0, Deadline - erlang:monotonic_time(millisecond)).

-spec call_first([node(), ...], term(), integer() | infinity)
    -> {reply, node(), term()} | {error, hornbeam_hooks:reason()}.
call_first([Node | Rest], Req, Deadline) ->
    case try_node(Node, Req, remaining(Deadline)) of
        {reply, Reply} -> {reply, Node, Reply};
        {down, _} when Rest =/= [] ->
            case remaining(Deadline) of
                0 -> {error, timeout};
                _ -> call_first(Rest, Req, Deadline)
            end;
        {down, Reason} -> {error, Reason};
        {exit, Reason} -> {error, Reason}
    end.

%% A reply; the node gone (`down', worth trying another); or another exit of the call.
-spec try_node(node(), term(), timeout()) -> {reply, term()} | {down | exit, hornbeam_hooks:reason()}.
try_node(Node, Req, Timeout) ->
    try gen_server:call({hornbeam_hooks, Node}, Req, Timeout) of
        Reply -> {reply, Reply}
    catch
        exit:{Exit, {gen_server, call, _}} ->
            case exit_reason(Exit, Node) of
                Down = {nodedown, _} -> {down, Down};
                Down = {noproc, _} -> {down, Down};
                Reason -> {exit, Reason}
            end
    end.
