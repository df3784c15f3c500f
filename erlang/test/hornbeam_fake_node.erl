%% @doc A stand-in for the Go node in tests: a `hornbeam_hooks' gen_server serving the requests of
%% docs/protocol.md for the Erlang handlers registered with it, plus the built-in "Go" hook of the demo node,
%% `demo.echo', whose `echo' returns its first argument. Registering `demo.echo' is refused with
%% `{error, {already_registered, <<"demo.echo">>}}'.
%% Streams of Erlang handlers are relayed: chunks to the caller under the fake's own reference, credit and
%% close to the handler's producer; chunks already waiting are sent together as `{chunks, L}'.
-module(hornbeam_fake_node).
-behaviour(gen_server).

%% API.
-export([start/0]).
-export([streams/0]).

%% gen_server.
-export([init/1]).
-export([handle_call/3]).
-export([handle_cast/2]).
-export([handle_info/2]).
-export([terminate/2]).
-export([code_change/3]).

-define(WINDOW, 256).
-define(TIMEOUT, 30000).

-type task() :: {running, pid(), [{gen_server:from(), reference() | infinity}]} | {done, term()}.

-record(state, {
    handlers = #{} :: #{binary() => {pid(), reference()}},
    tasks = #{} :: #{binary() => task()},
    streams = #{} :: #{reference() => pid()}
}).

%% API.

%% @doc Starts the fake, registered locally as `hornbeam_hooks' and linked to nothing.
-spec start() -> ok.
start() ->
    {ok, _} = gen_server:start({local, hornbeam_hooks}, ?MODULE, [], []),
    ok.

%% @doc The number of streams the fake is relaying.
-spec streams() -> non_neg_integer().
streams() ->
    gen_server:call(hornbeam_hooks, streams).

%% gen_server.

%% @private
-spec init([]) -> {ok, #state{}}.
init([]) ->
    {ok, #state{}}.

%% @private
-spec handle_call(term(), gen_server:from(), #state{}) -> {reply, term(), #state{}} | {noreply, #state{}}.
handle_call({execute, P, A, Args, Kw}, From, State) ->
    handle_call({execute, P, A, Args, Kw, #{}}, From, State);
handle_call({execute, P, A, Args, Kw, Opts}, From, State = #state{handlers = Hs}) ->
    Call = {name(P), name(A), Args, Kw, timeout(Opts)},
    _ = spawn(fun() -> gen_server:reply(From, run(Hs, Call)) end),
    {noreply, State};
handle_call({execute_async, P, A, Args, Kw}, _From, State = #state{handlers = Hs, tasks = Tasks}) ->
    Id = base64:encode(crypto:strong_rand_bytes(12)),
    Call = {name(P), name(A), Args, Kw, ?TIMEOUT},
    Pid = spawn(fun() -> gen_server:cast(hornbeam_hooks, {done, Id, run(Hs, Call)}) end),
    {reply, {ok, Id}, State#state{tasks = Tasks#{Id => {running, Pid, []}}}};
handle_call({await_result, Id, Timeout}, From, State = #state{tasks = Tasks}) ->
    case Tasks of
        #{Id := {done, Result}} ->
            {reply, Result, State};
        #{Id := {running, Pid, Waiters}} ->
            Timer = case Timeout of
                infinity -> infinity;
                _ -> erlang:start_timer(Timeout, self(), {await, Id, From})
            end,
            {noreply, State#state{tasks = Tasks#{Id := {running, Pid, [{From, Timer} | Waiters]}}}};
        _ ->
            {reply, {error, {task_not_found, Id}}, State}
    end;
handle_call({cancel, Id}, _From, State = #state{tasks = Tasks}) ->
    case maps:take(Id, Tasks) of
        {{running, Pid, Waiters}, Tasks2} ->
            exit(Pid, kill),
            [gen_server:reply(From, {error, cancelled}) || {From, _} <- Waiters],
            {reply, ok, State#state{tasks = Tasks2}};
        {{done, _}, Tasks2} ->
            {reply, ok, State#state{tasks = Tasks2}};
        error ->
            {reply, {error, {task_not_found, Id}}, State}
    end;
handle_call({stream, P, A, Args, Kw}, From, State) ->
    handle_call({stream, P, A, Args, Kw, #{}}, From, State);
handle_call({stream, P, A, Args, Kw, Opts}, From, State = #state{handlers = Hs, streams = Streams}) ->
    Ref = make_ref(),
    Call = {name(P), name(A), Args, Kw, timeout(Opts)},
    Window = maps:get(window, Opts, ?WINDOW),
    {Pid, _} = spawn_monitor(fun() -> stream(Hs, Call, From, Ref, Window) end),
    {noreply, State#state{streams = Streams#{Ref => Pid}}};
handle_call({reg, P, {erlang, Server}}, _From, State = #state{handlers = Hs}) ->
    case name(P) of
        <<"demo.echo">> = Path ->
            {reply, {error, {already_registered, Path}}, State};
        Path ->
            {reply, ok, State#state{handlers = Hs#{Path => {Server, erlang:monitor(process, Server)}}}}
    end;
handle_call({unreg, P}, _From, State = #state{handlers = Hs}) ->
    case maps:take(name(P), Hs) of
        {{_, Mon}, Hs2} ->
            erlang:demonitor(Mon, [flush]),
            {reply, ok, State#state{handlers = Hs2}};
        error ->
            {reply, ok, State}
    end;
handle_call({find, P}, _From, State = #state{handlers = Hs}) ->
    Path = name(P),
    Reply = case {Path, Hs} of
        {<<"demo.echo">>, _} -> {ok, #{app_path => Path, kind => go}};
        {_, #{Path := _}} -> {ok, #{app_path => Path, kind => erlang}};
        _ -> {error, {not_found, Path}}
    end,
    {reply, Reply, State};
handle_call(all, _From, State = #state{handlers = Hs}) ->
    Erlang = [#{app_path => P, kind => erlang} || P <- maps:keys(Hs)],
    {reply, {ok, [#{app_path => <<"demo.echo">>, kind => go} | Erlang]}, State};
handle_call(streams, _From, State = #state{streams = Streams}) ->
    {reply, map_size(Streams), State};
handle_call(Req, _From, State) ->
    {reply, {error, {bad_request, Req}}, State}.

%% @private
-spec handle_cast(term(), #state{}) -> {noreply, #state{}}.
handle_cast({done, Id, Result}, State = #state{tasks = Tasks}) ->
    case Tasks of
        #{Id := {running, _, Waiters}} ->
            [reply_waiter(W, Result) || W <- Waiters],
            {noreply, State#state{tasks = Tasks#{Id := {done, Result}}}};
        _ ->
            {noreply, State}
    end.

%% @private
-spec handle_info(term(), #state{}) -> {noreply, #state{}}.
handle_info({hornbeam_stream_credit, Ref, N}, State = #state{streams = Streams}) ->
    _ = [Pid ! {credit, N} || #{Ref := Pid} <- [Streams]],
    {noreply, State};
handle_info({hornbeam_stream_close, Ref}, State = #state{streams = Streams}) ->
    _ = [Pid ! close || #{Ref := Pid} <- [Streams]],
    {noreply, State};
handle_info({timeout, Timer, {await, Id, From}}, State = #state{tasks = Tasks}) ->
    case Tasks of
        #{Id := {running, Pid, Waiters}} ->
            gen_server:reply(From, {error, timeout}),
            Waiters2 = lists:keydelete(Timer, 2, Waiters),
            {noreply, State#state{tasks = Tasks#{Id := {running, Pid, Waiters2}}}};
        _ ->
            {noreply, State}
    end;
handle_info({'DOWN', _, process, Pid, _}, State = #state{handlers = Hs, streams = Streams}) ->
    {noreply, State#state{
        handlers = maps:filter(fun(_, {Server, _}) -> Server =/= Pid end, Hs),
        streams = maps:filter(fun(_, Relay) -> Relay =/= Pid end, Streams)
    }}.

%% @private
-spec terminate(term(), #state{}) -> ok.
terminate(_Reason, _State) ->
    ok.

%% @private
-spec code_change(term(), #state{}, term()) -> {ok, #state{}}.
code_change(_OldVsn, State, _Extra) ->
    {ok, State}.

%% Internal.

-spec reply_waiter({gen_server:from(), reference() | infinity}, term()) -> ok.
reply_waiter({From, Timer}, Result) ->
    _ = Timer =:= infinity orelse erlang:cancel_timer(Timer),
    gen_server:reply(From, Result).

-spec name(binary() | atom()) -> binary().
name(Name) when is_atom(Name) -> atom_to_binary(Name, utf8);
name(Name) -> Name.

-spec timeout(map()) -> non_neg_integer().
timeout(Opts) ->
    maps:get(timeout, Opts, ?TIMEOUT).

%% One execute: the `demo.echo' hook or a registered Erlang handler.
-spec run(map(), tuple()) -> {ok, term()} | {error, term()}.
run(_Hs, {<<"demo.echo">>, <<"echo">>, [Arg | _], _, _}) ->
    {ok, Arg};
run(Hs, {Path, Action, Args, Kw, Timeout}) ->
    case Hs of
        #{Path := {Server, _}} ->
            result(call(Server, {hornbeam_handle, Path, Action, Args, Kw, #{timeout => Timeout}}, Timeout));
        _ ->
            {error, {not_found, Path}}
    end.

-spec call(pid(), term(), timeout()) -> term().
call(Server, Req, Timeout) ->
    try
        gen_server:call(Server, Req, Timeout)
    catch
        exit:{timeout, _} -> {error, timeout};
        exit:{Reason, _} -> {error, {handler_down, Reason}}
    end.

-spec result(term()) -> {ok, term()} | {error, term()}.
result({ok, Value}) -> {ok, Value};
result({error, Reason}) -> {error, Reason};
result(Value) -> {ok, Value}.

%% One stream, in its own process: replies to the caller, then relays the Erlang handler's stream.
-spec stream(map(), tuple(), gen_server:from(), reference(), pos_integer()) -> ok.
stream(Hs, {Path, Action, Args, Kw, Timeout}, From = {Consumer, _}, Ref, Window) ->
    Mon = erlang:monitor(process, Consumer),
    case Hs of
        #{Path := {Server, _}} ->
            Req = {hornbeam_handle_stream, Path, Action, Args, Kw, #{timeout => Timeout, window => Window}},
            case call(Server, Req, Timeout) of
                {ok, SRef, Producer} ->
                    gen_server:reply(From, {ok, Ref}),
                    relay(Consumer, Ref, SRef, Producer, Mon);
                {error, _} = Error ->
                    gen_server:reply(From, Error)
            end;
        _ ->
            gen_server:reply(From, {error, {not_found, Path}})
    end.

-spec relay(pid(), reference(), reference(), pid(), reference()) -> ok.
relay(Consumer, Ref, SRef, Producer, Mon) ->
    receive
        {hornbeam_stream, SRef, {chunk, Chunk}} ->
            Consumer ! {hornbeam_stream, Ref, batch(SRef, [Chunk])},
            relay(Consumer, Ref, SRef, Producer, Mon);
        {hornbeam_stream, SRef, Last} ->
            Consumer ! {hornbeam_stream, Ref, Last},
            ok;
        {credit, N} ->
            Producer ! {hornbeam_stream_credit, SRef, N},
            relay(Consumer, Ref, SRef, Producer, Mon);
        close ->
            Producer ! {hornbeam_stream_close, SRef},
            ok;
        {'DOWN', Mon, process, _, _} ->
            Producer ! {hornbeam_stream_close, SRef},
            ok
    end.

%% The chunk, or several when more are already waiting: `{chunks, L}' as the Go node sends when it is ahead.
-spec batch(reference(), [term()]) -> {chunk, term()} | {chunks, [term()]}.
batch(SRef, Chunks) ->
    receive
        {hornbeam_stream, SRef, {chunk, Chunk}} -> batch(SRef, [Chunk | Chunks])
    after 0 ->
        case Chunks of
            [One] -> {chunk, One};
            _ -> {chunks, lists:reverse(Chunks)}
        end
    end.
