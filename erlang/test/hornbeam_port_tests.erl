%% Port mode against the real program: `hornbeam --stdio' (the binary named by the environment variable
%% HORNBEAM_BIN, else built from ./cmd/hornbeam) under hornbeam_port, calling its demo hooks. No distribution.
-module(hornbeam_port_tests).
-include_lib("eunit/include/eunit.hrl").
-import(hornbeam_test_lib, [bin/0, root/0, wait_until/1]).

port_test_() ->
    {setup, fun start/0, fun stop/1, fun(Port) -> [
        {"execute and errors", fun() -> execute(Port) end},
        {timeout, 60, {"the wide corpus echoes =:=", fun() -> corpus(Port) end}},
        {timeout, 60, {"etf/testdata's terms echo =:=", fun() -> testdata(Port) end}},
        {"calls run concurrently", fun() -> concurrent(Port) end},
        {"tasks", fun() -> tasks(Port) end},
        {"streams", fun() -> streams(Port) end},
        {"a stream closes when its consumer exits", fun() -> consumer_exit(Port) end},
        {"frames that are not calls", fun() -> raw_frames() end}
    ] end}.

stop_test() ->
    {ok, Port} = hornbeam_port:start_link(bin(), #{args => ["--log-level", "warn"]}),
    OsPid = os_pid(Port),
    {ok, _} = hornbeam_port:execute_async(Port, <<"demo.sleep">>, <<"sleep">>, [60000], #{}),
    ok = hornbeam_port:stop(Port),
    ?assert(wait_until(fun() -> os:cmd("kill -0 " ++ integer_to_list(OsPid) ++ " 2>&1") =/= "" end)).

%% Fixture.

start() ->
    process_flag(trap_exit, true),
    {ok, Port} = hornbeam_port:start_link(bin(), #{args => ["--log-level", "warn"]}),
    Port.

stop(Port) ->
    hornbeam_port:stop(Port).

os_pid(Port) ->
    {state, P, _, _, _} = sys:get_state(Port),
    {os_pid, OsPid} = erlang:port_info(P, os_pid),
    OsPid.

echo(Port, T) ->
    hornbeam_port:execute(Port, <<"demo.echo">>, <<"echo">>, [{echo, T}], #{}, #{timeout => 30000}).

%% Tests.

execute(Port) ->
    ?assertEqual({ok, 3}, hornbeam_port:execute(Port, <<"demo.calculator">>, <<"add">>, [1, 2], #{})),
    ?assertEqual({ok, x}, hornbeam_port:execute(Port, 'demo.echo', echo, [x], #{})),
    ?assertMatch({error, {unknown_action, _}}, hornbeam_port:execute(Port, <<"demo.echo">>, <<"nope">>, [], #{})),
    ?assertEqual({error, {not_found, <<"nope">>}}, hornbeam_port:execute(Port, <<"nope">>, <<"x">>, [], #{})),
    ?assertEqual({error, timeout},
        hornbeam_port:execute(Port, <<"demo.sleep">>, <<"sleep">>, [5000], #{}, #{timeout => 100})),
    ?assertEqual({ok, #{app_path => <<"demo.echo">>, kind => go}}, hornbeam_port:find(Port, <<"demo.echo">>)),
    {ok, All} = hornbeam_port:all(Port),
    ?assert(lists:member(#{app_path => <<"demo.counter">>, kind => go}, All)).

corpus(Port) ->
    Ext = hd(erlang:ports()),
    Terms = [0, 1, -1, 255, 256, -256, 2147483647, -2147483648, 1 bsl 63, -(1 bsl 63), -(1 bsl 63) - 5,
        1 bsl 64, -(1 bsl 64), 1 bsl 1000, -(1 bsl 1000),
        1.5, -0.0, 0.0, 3.141592653589793, 1.0e300,
        a, '', 'hello world', 'ünïcödé', '日本',
        <<>>, <<"bin">>, <<1:1>>, <<1, 2, 3:5>>, <<255, 7:3>>,
        [], [1, 2, 3], "string", [256, 1000], [a | b], [1, 2 | 3], [[]], [<<"x">> | <<"y">>],
        {}, {a}, {a, {b, [c]}}, list_to_tuple(lists:seq(1, 300)),
        #{}, #{a => 1}, #{<<"k">> => 1, <<"j">> => [2]}, #{[1] => 2}, #{#{a => 1} => 3}, #{{t, 1} => x},
        #{1 => a, 1.0 => b}, maps:from_list([{I, I * I} || I <- lists:seq(1, 100)]),
        self(), make_ref(), alias(), Ext, fun() -> ok end, fun lists:reverse/1, fun(X) -> {X, Ext} end,
        {self(), [make_ref() | 1], #{self() => <<1:7>>}},
        binary:copy(<<7, 8, 9>>, 100000),
        binary:copy(<<"0123456789">>, 1024 * 1024)],
    ?assertEqual([], [T || T <- Terms, echo(Port, T) =/= {ok, {echo, T}}]).

%% Every term but a port whose ID is above 2^32, which the Go side cannot hold: that call is answered at once.
testdata(Port) ->
    Dir = filename:join(root(), "etf/testdata/erl"),
    Files = filelib:wildcard(filename:join(Dir, "*.bin")) -- [filename:join(Dir, "v4_port_ext_64bit.bin")],
    ?assert(length(Files) > 100),
    Bad = [F || F <- Files, begin T = binary_to_term(element(2, file:read_file(F))), echo(Port, T) =/= {ok, {echo, T}} end],
    ?assertEqual([], Bad),
    {ok, Big} = file:read_file(filename:join(Dir, "v4_port_ext_64bit.bin")),
    ?assertMatch({error, {badterm, _}}, echo(Port, binary_to_term(Big))).

concurrent(Port) ->
    Self = self(),
    Call = fun(Tag, Ms) ->
        spawn_link(fun() -> Self ! {Tag, hornbeam_port:execute(Port, <<"demo.sleep">>, <<"sleep">>, [Ms], #{})} end)
    end,
    Call(slow, 400),
    timer:sleep(20),
    Call(fast, 10),
    First = receive {T1, R1} -> {T1, R1} after 5000 -> none end,
    Second = receive {T2, R2} -> {T2, R2} after 5000 -> none end,
    ?assertEqual([{fast, {ok, ok}}, {slow, {ok, ok}}], [First, Second]).

tasks(Port) ->
    {ok, Id} = hornbeam_port:execute_async(Port, <<"demo.sleep">>, <<"sleep">>, [200], #{}),
    ?assertEqual({error, timeout}, hornbeam_port:await_result(Port, Id, 10)),
    ?assertEqual({ok, ok}, hornbeam_port:await_result(Port, Id, infinity)),
    {ok, Id2} = hornbeam_port:execute_async(Port, <<"demo.sleep">>, <<"sleep">>, [60000], #{}),
    ?assertEqual(ok, hornbeam_port:cancel(Port, Id2)),
    ?assertEqual({error, {task_not_found, <<"nope">>}}, hornbeam_port:cancel(Port, <<"nope">>)).

streams(Port) ->
    {ok, Gen} = hornbeam_port:stream(Port, <<"demo.counter">>, <<"count">>, [500], #{}, #{window => 16}),
    ?assertEqual(lists:seq(0, 499), drain(Gen, [])),
    ?assertEqual(done, Gen()),
    {ok, Gen2} = hornbeam_port:stream(Port, <<"demo.counter">>, <<"count">>, [3], #{}),
    Self = self(),
    spawn(fun() -> Self ! {other, Gen2()} end),
    ?assertMatch({error, {badarg, {owner, _}}}, receive {other, M} -> M after 5000 -> none end),
    ?assertEqual([0, 1, 2], drain(Gen2, [])),
    ?assertMatch({error, {unknown_action, _}}, hornbeam_port:stream(Port, <<"demo.counter">>, <<"nope">>, [], #{})).

consumer_exit(Port) ->
    Self = self(),
    Pid = spawn(fun() ->
        {ok, Gen} = hornbeam_port:stream(Port, <<"demo.counter">>, <<"count">>, [1 bsl 40], #{}, #{window => 4}),
        {value, 0} = Gen(),
        Self ! started
    end),
    receive started -> ok after 5000 -> error(not_started) end,
    ?assert(wait_until(fun() -> not is_process_alive(Pid) end)),
    ?assert(wait_until(fun() -> element(5, sys:get_state(Port)) =:= #{} end)),
    ?assertEqual({ok, 1}, echo_plain(Port, 1)).

echo_plain(Port, T) ->
    hornbeam_port:execute(Port, <<"demo.echo">>, <<"echo">>, [T], #{}).

%% Frames written to a bare port: a frame that does not decode, and one that is no call.
raw_frames() ->
    P = open_port({spawn_executable, bin()}, [{packet, 4}, binary, exit_status, {args, ["--stdio", "--log-level", "error"]}]),
    true = port_command(P, <<1, 2, 3>>),
    R1 = receive {P, {data, B1}} -> binary_to_term(B1) after 5000 -> none end,
    true = port_command(P, term_to_binary(hello)),
    R2 = receive {P, {data, B2}} -> binary_to_term(B2) after 5000 -> none end,
    true = port_command(P, term_to_binary({call, make_ref(), {bogus}})),
    R3 = receive {P, {data, B3}} -> binary_to_term(B3) after 5000 -> none end,
    port_close(P),
    ?assertMatch({reply, undefined, {error, {badterm, <<"etf: ", _/binary>>}}}, R1),
    ?assertEqual({reply, undefined, {error, {bad_request, hello}}}, R2),
    ?assertMatch({reply, _, {error, {bad_request, {bogus}}}}, R3).

drain(Gen, Acc) ->
    case Gen() of
        {value, V} -> drain(Gen, [V | Acc]);
        done -> lists:reverse(Acc);
        Other -> {failed, Other, lists:reverse(Acc)}
    end.
