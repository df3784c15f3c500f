#!/usr/bin/env escript
%% -*- erlang -*-
%%
%% etf_beam times the BEAM's own binary_to_term/1 and term_to_binary/2 over
%% the corpus of etf/testdata/erl, in the groups of etf/bench_test.go, so
%% that our Go codec can be set against the runtime it talks to:
%%
%%     escript bench/etf_beam.escript [etf/testdata/erl]
%%
%% For each group it prints ns per op, where one op decodes (or encodes, with
%% [{minor_version,2}]) every term of the group once, as the Go "ours-all"
%% benchmarks do. The "mixed" group is rebuilt here with the shapes of
%% mixedTerms in etf/bench_test.go.
-mode(compile).

-spec main([string()]) -> ok.
main([]) ->
    main(["etf/testdata/erl"]);
main([Dir]) ->
    {ok, Index} = file:read_file(filename:join(Dir, "index.tsv")),
    Entries = [binary:split(L, <<"\t">>, [global])
               || L <- binary:split(Index, <<"\n">>, [global]), L =/= <<>>],
    Corpus = [{group(binary_to_list(Name), Enc), read(Dir, Name)}
              || [Name, Enc, _, _] <- Entries, Name =/= <<"v4_port_ext_64bit">>],
    Mixed = [{"mixed", term_to_binary(T, [{minor_version, 2}])} || T <- mixed()],
    Groups = ["scalars", "binaries", "containers", "identifiers", "funs", "nested",
              "large", "encodings", "mixed"],
    io:format("OTP ~s~n| group | terms | bytes | decode ns/op | encode ns/op |~n|---|---:|---:|---:|---:|~n",
              [erlang:system_info(otp_release)]),
    lists:foreach(
      fun(G) ->
              Bins = [B || {G1, B} <- Corpus ++ Mixed, G1 =:= G],
              Terms = [binary_to_term(B) || B <- Bins],
              Dec = time_op(fun() -> [binary_to_term(B) || B <- Bins] end),
              Enc = time_op(fun() -> [term_to_binary(T, [{minor_version, 2}]) || T <- Terms] end),
              io:format("| ~s | ~b | ~b | ~b | ~b |~n",
                        [G, length(Bins), lists:sum([byte_size(B) || B <- Bins]), Dec, Enc])
      end, Groups).

read(Dir, Name) ->
    {ok, B} = file:read_file(filename:join(Dir, <<Name/binary, ".bin">>)),
    B.

%% time_op/1 runs F in rounds of doubling length until one takes at least
%% 300 ms, and returns nanoseconds per call.
time_op(F) -> time_op(F, 1).

time_op(F, N) ->
    garbage_collect(),
    T0 = erlang:monotonic_time(nanosecond),
    repeat(F, N),
    Ns = erlang:monotonic_time(nanosecond) - T0,
    case Ns >= 300000000 of
        true -> Ns div N;
        false -> time_op(F, N * 2)
    end.

repeat(_, 0) -> ok;
repeat(F, N) -> _ = F(), repeat(F, N - 1).

%% group/2 mirrors corpusGroup in etf/bench_test.go.
group(Name, Enc) when Enc =/= <<"utf8">> -> _ = Name, "encodings";
group(Name, _) ->
    Prefix = fun(P) -> lists:prefix(P, Name) end,
    case {lists:suffix("_100k", Name) orelse Prefix("list_string_6553") orelse Name =:= "binary_1mb",
          Prefix("int_") orelse Prefix("float_") orelse Prefix("atom_"),
          Prefix("binary_") orelse Prefix("bits_"),
          Prefix("pid_") orelse Prefix("ref_") orelse Name =:= "port" orelse Name =:= "rpc_call",
          Prefix("fun_") orelse Prefix("export_"),
          Prefix("nested_")} of
        {true, _, _, _, _, _} -> "large";
        {_, true, _, _, _, _} -> "scalars";
        {_, _, true, _, _, _} -> "binaries";
        {_, _, _, true, _, _} -> "identifiers";
        {_, _, _, _, true, _} -> "funs";
        {_, _, _, _, _, true} -> "nested";
        _ -> "containers"
    end.

%% mixed/0 mirrors mixedTerms in etf/bench_test.go.
mixed() ->
    Args = [1, <<"two">>, 3.5, [a, b]],
    Call = fun(K) -> {execute, <<"app">>, <<"act">>, Args, #{K("timeout") => 5000, K("trace") => <<"abc-123">>}} end,
    Records = fun(K) ->
                      [#{K("id") => I, K("name") => iolist_to_binary(io_lib:format("user-~b", [I])),
                         K("tags") => [<<"a">>, <<"b">>], K("score") => I / 3}
                       || I <- lists:seq(0, 99)]
              end,
    Bin = fun(K) -> list_to_binary(K) end,
    Atom = fun(K) -> list_to_atom(K) end,
    Self = self(),
    Ref = alias(),
    [Call(Bin), Call(Atom),
     {'$gen_call', {Self, Ref}, {call, lists, seq, [1, 3], Self}},
     Records(Bin), Records(Atom),
     binary:copy(<<"0123456789abcdef">>, 65536)].
