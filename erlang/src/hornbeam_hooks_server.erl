%% @doc The local end of Erlang handlers. It keeps them, registers them as `{erlang, self()}' with every Go node
%% it knows of, and serves the `hornbeam_handle' and `hornbeam_handle_stream' calls
%% those nodes make (docs/protocol.md, "Erlang handlers").
%%
%% The Go nodes it knows of are those of the application environment `nodes'; when that is unset, the `seed'
%% (default `hornbeam@localhost') and every node with a member in the `pg' group `hornbeam_hooks' of the scope
%% {@link hornbeam_hooks_nodes:scope/0}, followed as they join; a node whose last member leaves is forgotten.
%%
%% Each Go node's `hornbeam_hooks' server is monitored. When it goes away the node is tried again after
%% 100 ms, doubling up to 5 s, and at once on `nodeup'; once it answers, every handler is registered again.
%% Handlers live in an ETS table owned by the supervisor, so a restart of this server keeps them.
-module(hornbeam_hooks_server).
-behaviour(gen_server).

%% API.
-export([start_link/0]).
-export([new_table/0]).
-export([reg/3]).
-export([unreg/2]).

%% gen_server.
-export([init/1]).
-export([handle_call/3]).
-export([handle_cast/2]).
-export([handle_info/2]).
-export([terminate/2]).
-export([code_change/3]).

-define(TABLE, hornbeam_hooks_handlers).
-define(MIN_BACKOFF, 100).
-define(MAX_BACKOFF, 5000).
-define(NODES_GROUP, hornbeam_hooks).

-type handler() :: hornbeam_hooks:handler() | {module(), atom()}.
-export_type([handler/0]).

%% A Go node: registering (monitor, replies still awaited, backoff if this attempt fails), up (monitor), or
%% down (backoff for the next attempt, its timer).
-type peer() :: {connecting, reference(), pos_integer(), pos_integer()}
    | {up, reference()}
    | {down, pos_integer(), reference()}.

%% A reg or unreg call waiting for the Go nodes' replies.
-type op() :: #{
    from := gen_server:from(),
    op := {reg, binary(), handler()} | {unreg, binary()},
    waiting := pos_integer(),
    accepted := [node()],
    result := ok | {error, term()}
}.

%% A handler call running in a worker: its caller, the worker's monitor, its deadline timer, its kind.
-type worker() :: {gen_server:from(), reference(), reference(), execute | stream}.

-type label() :: {connect, node(), reference(), term()} | {op, reference(), node()} | ignore.

-record(state, {
    peers = #{} :: #{node() => peer()},
    requests :: gen_server:request_id_collection(),
    ops = #{} :: #{reference() => op()},
    workers = #{} :: #{pid() => worker()},
    timeout :: non_neg_integer(),
    pg :: reference() | undefined
}).

%% API.

%% @doc Starts the server, registered locally as `hornbeam_hooks_server'.
-spec start_link() -> {ok, pid()}.
start_link() ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, [], []).

%% @doc Creates the handler table in the calling process, which owns it; the supervisor calls this.
-spec new_table() -> ok.
new_table() ->
    ?TABLE = ets:new(?TABLE, [named_table, public, {read_concurrency, true}]),
    ok.

%% @doc Records `Handler' for `AppPath' and registers it with every Go node that is up. A refusal by a node
%% removes it again and is returned.
-spec reg(binary(), handler(), timeout()) -> ok | {error, hornbeam_hooks:reason()}.
reg(AppPath, Handler, Timeout) ->
    call({reg, AppPath, Handler}, Timeout).

%% @doc Removes the handler of `AppPath' here and on every Go node that is up.
-spec unreg(binary(), timeout()) -> ok | {error, hornbeam_hooks:reason()}.
unreg(AppPath, Timeout) ->
    call({unreg, AppPath}, Timeout).

%% gen_server.

%% @private
-spec init([]) -> {ok, #state{}}.
init([]) ->
    ok = net_kernel:monitor_nodes(true),
    {ok, Timeout} = application:get_env(hornbeam_hooks, timeout),
    State = #state{requests = gen_server:reqids_new(), timeout = Timeout},
    {Nodes, State2} = case application:get_env(hornbeam_hooks, nodes) of
        {ok, Static} ->
            {Static, State};
        undefined ->
            {Ref, Members} = pg:monitor(hornbeam_hooks_nodes:scope(), ?NODES_GROUP),
            {lists:usort([seed() | [node(P) || P <- Members]]), State#state{pg = Ref}}
    end,
    {ok, lists:foldl(fun(Node, S) -> connect(Node, ?MIN_BACKOFF, S) end, State2, Nodes)}.

%% @private
-spec handle_call(term(), gen_server:from(), #state{}) -> {reply, term(), #state{}} | {noreply, #state{}}.
handle_call({reg, AppPath, Handler}, From, State) ->
    true = ets:insert(?TABLE, {AppPath, Handler}),
    {noreply, broadcast(From, {reg, AppPath, Handler}, {reg, AppPath, {erlang, self()}}, State)};
handle_call({unreg, AppPath}, From, State) ->
    true = ets:delete(?TABLE, AppPath),
    {noreply, broadcast(From, {unreg, AppPath}, {unreg, AppPath}, State)};
handle_call({hornbeam_handle, AppPath, Action, Args, Kwargs, Opts}, From, State) when is_map(Opts) ->
    handle(execute, AppPath, {Action, Args, Kwargs, Opts}, From, State);
handle_call({hornbeam_handle_stream, AppPath, Action, Args, Kwargs, Opts}, From, State) when is_map(Opts) ->
    handle(stream, AppPath, {Action, Args, Kwargs, Opts}, From, State);
handle_call(Req, _From, State) ->
    {reply, {error, {bad_request, Req}}, State}.

%% @private
-spec handle_cast(term(), #state{}) -> {noreply, #state{}}.
handle_cast(_Msg, State) ->
    {noreply, State}.

%% @private
-spec handle_info(term(), #state{}) -> {noreply, #state{}}.
handle_info(Msg, State = #state{requests = Requests}) ->
    case gen_server:check_response(Msg, Requests, true) of
        {Response, Label, Requests2} -> {noreply, response(Label, Response, State#state{requests = Requests2})};
        _ -> {noreply, info(Msg, State)}
    end.

%% @private
-spec terminate(term(), #state{}) -> ok.
terminate(_Reason, _State) ->
    ok.

%% @private
-spec code_change(term(), #state{}, term()) -> {ok, #state{}}.
code_change(_OldVsn, State, _Extra) ->
    {ok, State}.

%% Internal.

-spec call(term(), timeout()) -> ok | {error, hornbeam_hooks:reason()}.
call(Req, Timeout) ->
    try
        gen_server:call(?MODULE, Req, Timeout)
    catch
        exit:{timeout, {gen_server, call, _}} -> {error, timeout}
    end.

%% Registers every handler with `Node' (or, with none, asks it for `all'); the node is up once all replied.
-spec connect(node(), pos_integer(), #state{}) -> #state{}.
connect(Node, Backoff, State = #state{peers = Peers, requests = Requests}) ->
    case is_alive() of
        false ->
            retry(Node, Backoff, State);
        true ->
            Mon = erlang:monitor(process, {hornbeam_hooks, Node}),
            Reqs = case ets:select(?TABLE, [{{'$1', '_'}, [], ['$1']}]) of
                [] -> [all];
                Paths -> [{reg, Path, {erlang, self()}} || Path <- Paths]
            end,
            Requests2 = lists:foldl(fun(Req, Acc) ->
                gen_server:send_request({hornbeam_hooks, Node}, Req, {connect, Node, Mon, Req}, Acc)
            end, Requests, Reqs),
            State#state{peers = Peers#{Node => {connecting, Mon, length(Reqs), Backoff}}, requests = Requests2}
    end.

-spec retry(node(), pos_integer(), #state{}) -> #state{}.
retry(Node, Backoff, State = #state{peers = Peers}) ->
    Timer = erlang:send_after(Backoff, self(), {connect, Node}),
    State#state{peers = Peers#{Node => {down, min(2 * Backoff, ?MAX_BACKOFF), Timer}}}.

%% Sends `Req' to every Go node not down; `From' gets its answer once they all replied.
-spec broadcast(gen_server:from(), {reg, binary(), handler()} | {unreg, binary()}, term(), #state{}) -> #state{}.
broadcast(From, Op, Req, State = #state{peers = Peers, requests = Requests, ops = Ops}) ->
    case [Node || {Node, Peer} <- maps:to_list(Peers), element(1, Peer) =/= down] of
        [] ->
            gen_server:reply(From, ok),
            State;
        Nodes ->
            Tag = make_ref(),
            Requests2 = lists:foldl(fun(Node, Acc) ->
                gen_server:send_request({hornbeam_hooks, Node}, Req, {op, Tag, Node}, Acc)
            end, Requests, Nodes),
            Pending = #{from => From, op => Op, waiting => length(Nodes), accepted => [], result => ok},
            State#state{requests = Requests2, ops = Ops#{Tag => Pending}}
    end.

-spec response(label(), {reply, term()} | {error, {term(), term()}}, #state{}) -> #state{}.
response({connect, Node, Mon, Req}, Response, State = #state{peers = Peers}) ->
    case Peers of
        #{Node := {connecting, Mon, Waiting, Backoff}} ->
            case Response of
                {error, _} ->
                    erlang:demonitor(Mon, [flush]),
                    retry(Node, Backoff, State);
                {reply, Reply} ->
                    refused(Node, Req, Reply),
                    Peer = case Waiting of
                        1 -> {up, Mon};
                        _ -> {connecting, Mon, Waiting - 1, Backoff}
                    end,
                    State#state{peers = Peers#{Node := Peer}}
            end;
        _ ->
            State
    end;
response({op, Tag, Node}, Response, State = #state{ops = Ops}) ->
    #{Tag := Op = #{waiting := Waiting, accepted := Accepted, result := Result}} = Ops,
    Op2 = case Response of
        {reply, ok} -> Op#{accepted := [Node | Accepted]};
        {reply, Error = {error, _}} when Result =:= ok -> Op#{result := Error};
        _ -> Op
    end,
    case Waiting of
        1 -> finish(Op2, State#state{ops = maps:remove(Tag, Ops)});
        _ -> State#state{ops = Ops#{Tag := Op2#{waiting := Waiting - 1}}}
    end;
response(ignore, _Response, State) ->
    State.

-spec refused(node(), term(), term()) -> ok.
refused(Node, {reg, AppPath, _}, {error, Reason}) ->
    logger:warning("hornbeam_hooks: ~p refused the handler of ~p: ~p", [Node, AppPath, Reason]);
refused(_Node, _Req, _Reply) ->
    ok.

%% Answers a reg or unreg call. A refused reg is taken back from here and from the nodes that took it.
-spec finish(op(), #state{}) -> #state{}.
finish(#{from := From, op := {reg, AppPath, Handler}, accepted := Accepted, result := Error = {error, _}},
        State = #state{requests = Requests}) ->
    true = ets:delete_object(?TABLE, {AppPath, Handler}),
    Requests2 = lists:foldl(fun(Node, Acc) ->
        gen_server:send_request({hornbeam_hooks, Node}, {unreg, AppPath}, ignore, Acc)
    end, Requests, Accepted),
    gen_server:reply(From, Error),
    State#state{requests = Requests2};
finish(#{from := From}, State) ->
    gen_server:reply(From, ok),
    State.

-spec handle(execute | stream, term(), hornbeam_hooks_worker:call(), gen_server:from(), #state{})
    -> {reply, {error, {not_found, term()}}, #state{}} | {noreply, #state{}}.
handle(Kind, AppPath, Call = {_, _, _, Opts}, From, State = #state{workers = Workers, timeout = Timeout}) ->
    case ets:lookup(?TABLE, AppPath) of
        [] ->
            {reply, {error, {not_found, AppPath}}, State};
        [{_, Handler}] ->
            {Pid, Mon} = spawn_monitor(hornbeam_hooks_worker, run, [self(), Kind, Handler, Call]),
            Deadline = erlang:start_timer(deadline(Opts, Timeout), self(), Pid),
            {noreply, State#state{workers = Workers#{Pid => {From, Mon, Deadline, Kind}}}}
    end.

-spec deadline(map(), non_neg_integer()) -> non_neg_integer().
deadline(#{timeout := Ms}, _) when is_integer(Ms), Ms >= 0 -> Ms;
deadline(_, Default) -> Default.

-spec info(term(), #state{}) -> #state{}.
info({hornbeam_worker, Pid, Reply}, State) ->
    case take_worker(Pid, State) of
        {{From, stream}, State2} when element(1, Reply) =:= ok ->
            gen_server:reply(From, Reply),
            Pid ! {hornbeam_go, element(1, From)},
            State2;
        {{From, _}, State2} ->
            gen_server:reply(From, Reply),
            State2;
        error ->
            State
    end;
info({timeout, Deadline, Pid}, State = #state{workers = Workers}) ->
    case Workers of
        #{Pid := {_, _, Deadline, _}} ->
            exit(Pid, kill),
            {{From, _}, State2} = take_worker(Pid, State),
            gen_server:reply(From, {error, timeout}),
            State2;
        _ ->
            State
    end;
info({'DOWN', _, process, Pid, Reason}, State) when is_pid(Pid) ->
    case take_worker(Pid, State) of
        {{From, _}, State2} ->
            gen_server:reply(From, {error, {erlang, exit, Reason, []}}),
            State2;
        error ->
            State
    end;
info({'DOWN', Mon, process, {hornbeam_hooks, Node}, _}, State = #state{peers = Peers}) ->
    case Peers of
        #{Node := {up, Mon}} -> retry(Node, ?MIN_BACKOFF, State);
        #{Node := {connecting, Mon, _, Backoff}} -> retry(Node, Backoff, State);
        _ -> State
    end;
info({nodeup, Node}, State = #state{peers = Peers}) ->
    case Peers of
        #{Node := {down, Backoff, Timer}} ->
            _ = erlang:cancel_timer(Timer),
            connect(Node, Backoff, State);
        _ ->
            State
    end;
info({Ref, join, ?NODES_GROUP, Members}, State = #state{pg = Ref, peers = Peers}) ->
    New = lists:usort([node(P) || P <- Members]) -- maps:keys(Peers),
    lists:foldl(fun(Node, S) -> connect(Node, ?MIN_BACKOFF, S) end, State, New);
info({Ref, leave, ?NODES_GROUP, Members}, State = #state{pg = Ref}) ->
    Left = lists:usort([node(P) || P <- Members]) -- [seed() | [node(P) || P <- pg:get_members(
        hornbeam_hooks_nodes:scope(), ?NODES_GROUP)]],
    lists:foldl(fun drop/2, State, Left);
info({connect, Node}, State = #state{peers = Peers}) ->
    case Peers of
        #{Node := {down, Backoff, _}} -> connect(Node, Backoff, State);
        _ -> State
    end;
info(_Msg, State) ->
    State.

%% Forgets a Go node that left the `pg' group.
-spec drop(node(), #state{}) -> #state{}.
drop(Node, State = #state{peers = Peers}) ->
    case maps:take(Node, Peers) of
        {{down, _, Timer}, Peers2} ->
            _ = erlang:cancel_timer(Timer),
            State#state{peers = Peers2};
        {Peer, Peers2} ->
            erlang:demonitor(element(2, Peer), [flush]),
            State#state{peers = Peers2};
        error ->
            State
    end.

-spec seed() -> node().
seed() ->
    application:get_env(hornbeam_hooks, seed, 'hornbeam@localhost').

-spec take_worker(pid(), #state{}) -> {{gen_server:from(), execute | stream}, #state{}} | error.
take_worker(Pid, State = #state{workers = Workers}) ->
    case maps:take(Pid, Workers) of
        {{From, Mon, Deadline, Kind}, Workers2} ->
            erlang:demonitor(Mon, [flush]),
            _ = erlang:cancel_timer(Deadline),
            {{From, Kind}, State#state{workers = Workers2}};
        error ->
            error
    end.
