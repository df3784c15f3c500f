%% @doc Hooks through a port: a `gen_server' that runs `hornbeam --stdio' and owns its port.
%%
%% No distribution is needed: the Go program speaks docs/protocol.md's port mode on its stdin and stdout
%% (`{packet,4}' frames, one external term each), and this server turns each call into a `{call, Ref, Req}'
%% frame and its `{reply, Ref, Reply}' back into the reply. Calls run concurrently on the Go side; a slow one
%% holds up no other. The functions mirror {@link hornbeam_hooks} with the server as first argument, and return
%% the same values; {@link stream/5} returns the same generator.
%%
%% Errors are `{error, Reason}'. The reasons made here, besides those of the Go side (docs/errors.md), are
%% `timeout' (no answer within the call's timeout), `{port_exit, Status}' (the program exited while the call or
%% stream was under way) and `{exit, Reason}' (the server is gone). When the program exits the server stops
%% with `{shutdown, {port_exit, Status}}'.
-module(hornbeam_port).
-behaviour(gen_server).

%% API.
-export([start_link/2]).
-export([stop/1]).
-export([execute/5]).
-export([execute/6]).
-export([execute_async/5]).
-export([await_result/3]).
-export([cancel/2]).
-export([stream/5]).
-export([stream/6]).
-export([find/2]).
-export([all/1]).

%% gen_server.
-export([init/1]).
-export([handle_call/3]).
-export([handle_cast/2]).
-export([handle_info/2]).
-export([terminate/2]).

-type server() :: pid() | atom().
-type start_opts() :: #{args => [string()], env => [{string(), string() | false}], name => atom()}.
-type reason() :: timeout | {port_exit, integer()} | {exit, term()} | term().
-export_type([server/0]).
-export_type([start_opts/0]).
-export_type([reason/0]).

%% How long a call waits by default, and how much longer than its timeout a call waits for the Go side to
%% answer `{error, timeout}' itself.
-define(TIMEOUT, 30000).
-define(GRACE, 1000).
-define(WINDOW, 256).

-record(state, {
    port :: port(),
    next = 0 :: non_neg_integer(),
    %% Calls awaiting their reply, by the Ref of their frame.
    calls = #{} :: #{non_neg_integer() => {gen_server:from(), call | stream}},
    %% Open streams: their consumer and the monitor on it.
    streams = #{} :: #{reference() => {pid(), reference()}}
}).

%% API.

%% @doc Starts `Path --stdio' (plus `args', e.g. `["--python", "mod"]') under a new server linked to the caller;
%% `env' is added to the program's environment, `name' registers the server locally.
-spec start_link(file:filename_all(), start_opts()) -> {ok, pid()} | {error, term()}.
start_link(Path, Opts) ->
    case Opts of
        #{name := Name} -> gen_server:start_link({local, Name}, ?MODULE, {Path, Opts}, []);
        _ -> gen_server:start_link(?MODULE, {Path, Opts}, [])
    end.

%% @doc Stops the server; the program reads the end of its input, cancels what runs and exits.
-spec stop(server()) -> ok.
stop(Server) ->
    gen_server:stop(Server).

%% @equiv execute(Server, AppPath, Action, Args, Kwargs, #{})
-spec execute(server(), hornbeam_hooks:app_path(), hornbeam_hooks:action(), hornbeam_hooks:args(),
    hornbeam_hooks:kwargs()) -> {ok, term()} | {error, reason()}.
execute(Server, AppPath, Action, Args, Kwargs) ->
    execute(Server, AppPath, Action, Args, Kwargs, #{}).

%% @doc Calls `Action' of the hook `AppPath' and waits for its result; `Opts' may set `timeout' (ms, default
%% 30000), the handler's deadline and the time this call waits.
-spec execute(server(), hornbeam_hooks:app_path(), hornbeam_hooks:action(), hornbeam_hooks:args(),
    hornbeam_hooks:kwargs(), hornbeam_hooks:opts()) -> {ok, term()} | {error, reason()}.
execute(Server, AppPath, Action, Args, Kwargs, Opts) ->
    Timeout = maps:get(timeout, Opts, ?TIMEOUT),
    call(Server, {execute, AppPath, Action, Args, Kwargs, Opts#{timeout => Timeout}}, Timeout + ?GRACE).

%% @doc Starts `Action' of the hook `AppPath' and returns the task's id at once; see {@link await_result/3}.
-spec execute_async(server(), hornbeam_hooks:app_path(), hornbeam_hooks:action(), hornbeam_hooks:args(),
    hornbeam_hooks:kwargs()) -> {ok, hornbeam_hooks:task_id()} | {error, reason()}.
execute_async(Server, AppPath, Action, Args, Kwargs) ->
    call(Server, {execute_async, AppPath, Action, Args, Kwargs}, ?TIMEOUT).

%% @doc Waits up to `Timeout' ms for the result of a task; `{error, timeout}' leaves it for a later await.
-spec await_result(server(), hornbeam_hooks:task_id(), timeout()) -> {ok, term()} | {error, reason()}.
await_result(Server, TaskId, infinity) ->
    call(Server, {await_result, TaskId, infinity}, infinity);
await_result(Server, TaskId, Timeout) ->
    call(Server, {await_result, TaskId, Timeout}, Timeout + ?GRACE).

%% @doc Cancels a task; `{error, {task_not_found, TaskId}}' when the program does not know it.
-spec cancel(server(), hornbeam_hooks:task_id()) -> ok | {error, reason()}.
cancel(Server, TaskId) ->
    call(Server, {cancel, TaskId}, ?TIMEOUT).

%% @equiv stream(Server, AppPath, Action, Args, Kwargs, #{})
-spec stream(server(), hornbeam_hooks:app_path(), hornbeam_hooks:action(), hornbeam_hooks:args(),
    hornbeam_hooks:kwargs()) -> {ok, hornbeam_hooks:generator()} | {error, reason()}.
stream(Server, AppPath, Action, Args, Kwargs) ->
    stream(Server, AppPath, Action, Args, Kwargs, #{}).

%% @doc Starts a stream and returns `Gen', as {@link hornbeam_hooks:stream/5} does: each `Gen()' gives
%% `{value, Chunk}', then `done' or `{error, Reason}', and `done' ever after. Chunks are pushed to the calling
%% process, at most `window' (default 256) ahead of what it took; `Gen' works only in that process. `timeout'
%% (default 30000) bounds the start and each wait for a chunk; a wait that times out closes the stream. The
%% stream is closed too when the calling process exits.
-spec stream(server(), hornbeam_hooks:app_path(), hornbeam_hooks:action(), hornbeam_hooks:args(),
    hornbeam_hooks:kwargs(), hornbeam_hooks:opts()) -> {ok, hornbeam_hooks:generator()} | {error, reason()}.
stream(Server, AppPath, Action, Args, Kwargs, Opts) ->
    Timeout = maps:get(timeout, Opts, ?TIMEOUT),
    Window = maps:get(window, Opts, ?WINDOW),
    Req = {stream, AppPath, Action, Args, Kwargs, Opts#{timeout => Timeout, window => Window}},
    case call(Server, Req, Timeout + ?GRACE) of
        {ok, Ref} ->
            DownFun = fun(Reason) -> {exit, Reason} end,
            {ok, hornbeam_stream:consumer(gen_server_pid(Server), Ref, Window, Timeout, DownFun)};
        Error -> Error
    end.

%% @doc Describes the handler of `AppPath'.
-spec find(server(), hornbeam_hooks:app_path()) -> {ok, hornbeam_hooks:info()} | {error, reason()}.
find(Server, AppPath) ->
    call(Server, {find, AppPath}, ?TIMEOUT).

%% @doc Describes every registered handler.
-spec all(server()) -> {ok, [hornbeam_hooks:info()]} | {error, reason()}.
all(Server) ->
    call(Server, all, ?TIMEOUT).

%% gen_server.

-spec init({file:filename_all(), start_opts()}) -> {ok, #state{}} | {stop, term()}.
init({Path, Opts}) ->
    Env = case Opts of
        #{env := E} -> [{env, E}];
        _ -> []
    end,
    PortOpts = [{packet, 4}, binary, exit_status, use_stdio, hide,
        {args, ["--stdio" | maps:get(args, Opts, [])]} | Env],
    try open_port({spawn_executable, Path}, PortOpts) of
        Port -> {ok, #state{port = Port}}
    catch
        error:Reason -> {stop, {open_port, Reason}}
    end.

-spec handle_call({call, term()} | term(), gen_server:from(), #state{}) -> {noreply, #state{}} | {reply, term(), #state{}}.
handle_call({call, Req}, From, State = #state{port = Port, next = N, calls = Calls}) ->
    Kind = case is_tuple(Req) andalso tuple_size(Req) >= 5 andalso element(1, Req) =:= stream of
        true -> stream;
        false -> call
    end,
    true = port_command(Port, term_to_binary({call, N, Req})),
    {noreply, State#state{next = N + 1, calls = Calls#{N => {From, Kind}}}};
handle_call(Req, _From, State) ->
    {reply, {error, {bad_request, Req}}, State}.

-spec handle_cast(term(), #state{}) -> {noreply, #state{}}.
handle_cast(_Msg, State) ->
    {noreply, State}.

-spec handle_info(term(), #state{}) -> {noreply, #state{}} | {stop, term(), #state{}}.
handle_info({Port, {data, Frame}}, State = #state{port = Port}) ->
    {noreply, frame(binary_to_term(Frame), State)};
handle_info({hornbeam_stream_credit, Ref, N}, State = #state{port = Port}) ->
    true = port_command(Port, term_to_binary({hornbeam_stream_credit, Ref, N})),
    {noreply, State};
handle_info({hornbeam_stream_close, Ref}, State = #state{port = Port}) ->
    true = port_command(Port, term_to_binary({hornbeam_stream_close, Ref})),
    {noreply, forget(Ref, State)};
handle_info({'DOWN', Mon, process, Pid, _}, State = #state{port = Port, streams = Streams}) ->
    Gone = [Ref || {Ref, {P, M}} <- maps:to_list(Streams), P =:= Pid, M =:= Mon],
    [true = port_command(Port, term_to_binary({hornbeam_stream_close, Ref})) || Ref <- Gone],
    {noreply, State#state{streams = maps:without(Gone, Streams)}};
handle_info({Port, {exit_status, Status}}, State = #state{port = Port, calls = Calls, streams = Streams}) ->
    Reason = {port_exit, Status},
    _ = [gen_server:reply(From, {error, Reason}) || {From, _} <- maps:values(Calls)],
    _ = [Pid ! {hornbeam_stream, Ref, {error, Reason}} || {Ref, {Pid, _}} <- maps:to_list(Streams)],
    {stop, {shutdown, Reason}, State#state{calls = #{}, streams = #{}}};
handle_info(Msg, State) ->
    logger:warning("hornbeam_port: unexpected message ~0p", [Msg]),
    {noreply, State}.

-spec terminate(term(), #state{}) -> ok.
terminate(_Reason, #state{port = Port}) ->
    catch port_close(Port),
    ok.

%% Internal.

%% Acts on one frame from the program: a reply goes to its caller (a stream's consumer is monitored from
%% then on), a stream message to its consumer.
-spec frame(term(), #state{}) -> #state{}.
frame({reply, N, Reply}, State = #state{calls = Calls, streams = Streams}) when is_map_key(N, Calls) ->
    {{From, Kind}, Rest} = maps:take(N, Calls),
    State1 = case {Kind, Reply} of
        {stream, {ok, Ref}} ->
            {Pid, _} = From,
            State#state{streams = Streams#{Ref => {Pid, erlang:monitor(process, Pid)}}};
        _ ->
            State
    end,
    gen_server:reply(From, Reply),
    State1#state{calls = Rest};
frame({hornbeam_stream, Ref, Msg}, State = #state{streams = Streams}) when is_map_key(Ref, Streams) ->
    {Pid, _} = maps:get(Ref, Streams),
    Pid ! {hornbeam_stream, Ref, Msg},
    case Msg of
        done -> forget(Ref, State);
        {error, _} -> forget(Ref, State);
        _ -> State
    end;
frame(Frame, State) ->
    logger:warning("hornbeam_port: unexpected frame ~0p", [Frame]),
    State.

%% Stops routing the stream `Ref'.
-spec forget(reference(), #state{}) -> #state{}.
forget(Ref, State = #state{streams = Streams}) ->
    case maps:take(Ref, Streams) of
        {{_, Mon}, Rest} ->
            erlang:demonitor(Mon, [flush]),
            State#state{streams = Rest};
        error ->
            State
    end.

-spec call(server(), term(), timeout()) -> term().
call(Server, Req, Timeout) ->
    try
        gen_server:call(Server, {call, Req}, Timeout)
    catch
        exit:{timeout, {gen_server, call, _}} -> {error, timeout};
        exit:{Reason, {gen_server, call, _}} -> {error, {exit, Reason}}
    end.

-spec gen_server_pid(server()) -> pid().
gen_server_pid(Pid) when is_pid(Pid) -> Pid;
gen_server_pid(Name) -> whereis(Name).
