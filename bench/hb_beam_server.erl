%% @doc The BEAM baseline for bench/dist.sh: a registered `hornbeam_hooks'
%% gen_server that serves the same echo and counter calls as the Go node's
%% demo hooks, over the same protocol (docs/protocol.md).
-module(hb_beam_server).
-behaviour(gen_server).

%% API.
-export([start/0]).

%% gen_server.
-export([init/1]).
-export([handle_call/3]).
-export([handle_cast/2]).
-export([handle_info/2]).

-define(WINDOW, 256).

%% API.

-spec start() -> {ok, pid()}.
start() ->
	gen_server:start({local, hornbeam_hooks}, ?MODULE, [], []).

%% gen_server.

-spec init([]) -> {ok, #{reference() => pid()}}.
init([]) ->
	{ok, #{}}.

-spec handle_call(term(), gen_server:from(), map()) -> {reply, term(), map()}.
handle_call({execute, <<"demo.echo">>, <<"echo">>, [X], _Kwargs}, _From, State) ->
	{reply, {ok, X}, State};
handle_call({stream, <<"demo.counter">>, <<"count">>, [N], _Kwargs}, {Caller, _}, State) ->
	Ref = make_ref(),
	Producer = spawn_link(fun() -> produce(Caller, Ref, 0, N, ?WINDOW) end),
	{reply, {ok, Ref}, State#{Ref => Producer}};
handle_call(Req, _From, State) ->
	{reply, {error, {bad_request, Req}}, State}.

-spec handle_cast(term(), map()) -> {noreply, map()}.
handle_cast(_Msg, State) ->
	{noreply, State}.

-spec handle_info(term(), map()) -> {noreply, map()}.
handle_info({hornbeam_stream_credit, Ref, N}, State) ->
	case State of
		#{Ref := Producer} -> Producer ! {credit, N};
		_ -> ok
	end,
	{noreply, State};
handle_info({hornbeam_stream_close, Ref}, State) ->
	case maps:take(Ref, State) of
		{Producer, Rest} -> exit(Producer, kill), {noreply, Rest};
		error -> {noreply, State}
	end;
handle_info(_Msg, State) ->
	{noreply, State}.

%% Internal.

produce(Caller, Ref, N, N, _Credit) ->
	Caller ! {hornbeam_stream, Ref, done};
produce(Caller, Ref, I, N, 0) ->
	receive {credit, More} -> produce(Caller, Ref, I, N, More) end;
produce(Caller, Ref, I, N, Credit) ->
	Caller ! {hornbeam_stream, Ref, {chunk, I}},
	produce(Caller, Ref, I + 1, N, Credit - 1).
