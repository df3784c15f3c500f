#!/usr/bin/env escript
%% -*- erlang -*-
%%
%% gen_corpus writes the external term format of a wide corpus of terms, as
%% produced by this node's term_to_binary/2, into one file per term:
%%
%%     escript etf/testdata/gen_corpus.escript etf/testdata/erl
%%
%% Each file is Dir/Name.bin. Dir/index.tsv lists them, one a line:
%%     Name <TAB> Encoding <TAB> Bytes <TAB> Description
%% where Encoding is how the bytes were made:
%%   utf8           [{minor_version,2}]: atoms as SMALL_ATOM_UTF8_EXT or
%%                  ATOM_UTF8_EXT, as term_to_binary/1 writes from OTP 26 on;
%%   otp25          []: OTP 25's default, Latin-1 atoms as ATOM_EXT;
%%   minor0         [{minor_version,0}]: also floats as FLOAT_EXT text;
%%   compressed     [compressed, {minor_version,2}] (zlib level 6);
%%   compressed9    [{compressed,9}, {minor_version,2}];
%%   deterministic  [deterministic, {minor_version,2}]: map keys sorted;
%%   handmade       bytes written here by hand, in tags OTP 25 reads but does
%%                  not write, each checked with binary_to_term/1 first.
%% Spec: https://www.erlang.org/doc/apps/erts/erl_ext_dist.html
-mode(compile).

-spec main([string()]) -> ok.
main([Dir]) ->
    ok = filelib:ensure_dir(filename:join(Dir, "x")),
    lists:foreach(fun(F) -> ok = file:delete(F) end,
                  filelib:wildcard(filename:join(Dir, "*.bin"))),
    Entries = [encode(E) || E <- corpus()],
    Names = [N || {N, _, _, _} <- Entries],
    Unique = lists:usort(Names),
    true = length(Unique) =:= length(Names),
    Index = [begin
                 ok = file:write_file(filename:join(Dir, N ++ ".bin"), B),
                 [N, $\t, atom_to_list(Enc), $\t, integer_to_list(byte_size(B)), $\t, Desc, $\n]
             end || {N, Enc, B, Desc} <- Entries],
    ok = file:write_file(filename:join(Dir, "index.tsv"), Index),
    Total = lists:sum([byte_size(B) || {_, _, B, _} <- Entries]),
    io:format("~b terms, ~b bytes in ~s~n", [length(Entries), Total, Dir]);
main(_) ->
    io:format(standard_error, "usage: gen_corpus.escript OUT_DIR~n", []),
    halt(2).

%% encode/1 turns a corpus entry into {Name, Encoding, Bytes, Description}.
encode({handmade, Name, Bytes, Desc}) ->
    _ = binary_to_term(Bytes),
    {Name, handmade, Bytes, Desc};
encode({Name, Enc, Term, Desc}) ->
    {Name, Enc, term_to_binary(Term, opts(Enc)), Desc};
encode({Name, Term, Desc}) ->
    encode({Name, utf8, Term, Desc}).

opts(utf8) -> [{minor_version, 2}];
opts(otp25) -> [];
opts(minor0) -> [{minor_version, 0}];
opts(compressed) -> [compressed, {minor_version, 2}];
opts(compressed9) -> [{compressed, 9}, {minor_version, 2}];
opts(deterministic) -> [deterministic, {minor_version, 2}].

corpus() ->
    ints() ++ floats() ++ atoms() ++ tuples() ++ lists() ++ binaries() ++ maps()
        ++ identifiers() ++ funs() ++ nested() ++ encodings() ++ handmade().

ints() ->
    P = fun(E) -> 1 bsl E end,
    [{"int_0", 0, "SMALL_INTEGER_EXT 0"},
     {"int_1", 1, "SMALL_INTEGER_EXT 1"},
     {"int_255", 255, "largest SMALL_INTEGER_EXT"},
     {"int_256", 256, "smallest positive INTEGER_EXT"},
     {"int_neg1", -1, "INTEGER_EXT -1"},
     {"int_2p27", P(27), "2^27"},
     {"int_neg_2p27", -P(27), "-2^27"},
     {"int_2p27_minus1", P(27) - 1, "2^27-1, the largest small integer on 32-bit BEAM"},
     {"int_neg_2p27_minus1", -P(27) - 1, "-2^27-1"},
     {"int_2p31_minus1", P(31) - 1, "largest INTEGER_EXT"},
     {"int_2p31", P(31), "smallest positive SMALL_BIG_EXT"},
     {"int_neg_2p31", -P(31), "smallest INTEGER_EXT"},
     {"int_neg_2p31_minus1", -P(31) - 1, "largest negative SMALL_BIG_EXT"},
     {"int_2p63_minus1", P(63) - 1, "largest int64"},
     {"int_2p63", P(63), "int64 max + 1"},
     {"int_neg_2p63", -P(63), "smallest int64"},
     {"int_neg_2p63_minus1", -P(63) - 1, "int64 min - 1"},
     {"int_2p64_minus1", P(64) - 1, "largest uint64"},
     {"int_2p64", P(64), "2^64"},
     {"int_neg_2p64", -P(64), "-2^64"},
     {"int_neg_2p64_plus1", -P(64) + 1, "-2^64+1, wraps in ergo"},
     {"int_2p2039", P(2039), "255-byte SMALL_BIG_EXT"},
     {"int_2p2040", P(2040), "256-byte LARGE_BIG_EXT"},
     {"int_2p3000", P(3000), "LARGE_BIG_EXT 2^3000"},
     {"int_neg_2p3000", -P(3000), "LARGE_BIG_EXT -2^3000"}].

floats() ->
    [{"float_0", 0.0, "0.0"},
     {"float_neg0", -0.0, "-0.0"},
     {"float_1_5", 1.5, "1.5"},
     {"float_neg_pi", -math:pi(), "-pi"},
     {"float_max", 1.7976931348623157e308, "largest double"},
     {"float_huge", 1.0e300, "1e300"},
     {"float_min_normal", 2.2250738585072014e-308, "smallest normal double"},
     {"float_tiny", 5.0e-324, "smallest subnormal double"},
     {"float_third", 1 / 3, "1/3"}].

atoms() ->
    [{"atom_empty", '', "the empty atom"},
     {"atom_ok", ok, "SMALL_ATOM_UTF8_EXT ok"},
     {"atom_true", true, "true"},
     {"atom_false", false, "false"},
     {"atom_undefined", undefined, "undefined"},
     {"atom_latin1", 'héllo', "latin-1 letters in UTF-8"},
     {"atom_unicode", '日本語', "CJK atom"},
     {"atom_255_ascii", list_to_atom(lists:duplicate(255, $a)), "255 ASCII characters, longest SMALL_ATOM_UTF8_EXT"},
     {"atom_255_unicode", list_to_atom(lists:duplicate(255, 16#65E5)), "255 three-byte characters, ATOM_UTF8_EXT"},
     {"atom_node", 'hornbeam@localhost', "a node name"}].

tuples() ->
    [{"tuple_empty", {}, "{}"},
     {"tuple_pair", {ok, 1}, "{ok, 1}"},
     {"tuple_255", list_to_tuple(lists:seq(1, 255)), "largest SMALL_TUPLE_EXT"},
     {"tuple_256", list_to_tuple(lists:seq(1, 256)), "smallest LARGE_TUPLE_EXT"},
     {"tuple_100k", list_to_tuple(lists:seq(1, 100000)), "100,000 integers"},
     {"tuple_mixed", {a, <<"b">>, "c", 1, 2.0, [x], #{k => v}}, "one of each kind"}].

lists() ->
    [{"list_nil", [], "NIL_EXT"},
     {"list_string", "hello", "STRING_EXT"},
     {"list_small_ints", [1, 2, 3], "small integers are a STRING_EXT"},
     {"list_string_65535", lists:duplicate(65535, $x), "longest STRING_EXT"},
     {"list_string_65536", lists:duplicate(65536, $x), "65,536 bytes: LIST_EXT of SMALL_INTEGER_EXT"},
     {"list_unicode", "héllo日本", "code points above 255: LIST_EXT"},
     {"list_ints", [256, -1, 1 bsl 40], "LIST_EXT of integers"},
     {"list_mixed", [a, <<"b">>, {c}, [d], 1.5], "LIST_EXT of mixed terms"},
     {"list_100k", lists:seq(1, 100000), "100,000 integers"},
     {"improper_int_tail", [1 | 2], "[1|2]"},
     {"improper_atoms", [a, b | c], "[a,b|c]"},
     {"improper_binary_tail", [1 | <<"t">>], "[1|<<\"t\">>]"},
     {"improper_string_head", [$a, $b | $c], "small integers with a tail: not a STRING_EXT"}].

binaries() ->
    [{"binary_empty", <<>>, "<<>>"},
     {"binary_hello", <<"hello">>, "<<\"hello\">>"},
     {"binary_utf8", <<"héllo 日本"/utf8>>, "UTF-8 text"},
     {"binary_bytes", <<0, 255, 131, 0>>, "arbitrary bytes"},
     {"binary_1mb", binary:copy(<<"0123456789abcdef">>, 65536), "1 MiB binary"},
     {"bits_1", <<1:1>>, "one bit"},
     {"bits_7", <<127:7>>, "seven bits"},
     {"bits_9", <<255, 1:1>>, "nine bits"},
     {"bits_long", <<(binary:copy(<<"ab">>, 100))/binary, 5:3>>, "200 bytes and 3 bits"}].

maps() ->
    Keys40 = maps:from_list([{list_to_atom("k" ++ integer_to_list(I)), I} || I <- lists:seq(1, 40)]),
    [{"map_empty", #{}, "#{}"},
     {"map_atom_keys", #{a => 1, b => 2}, "atom keys"},
     {"map_binary_keys", #{<<"app">> => <<"demo">>, <<"port">> => 80}, "binary keys"},
     {"map_list_keys", #{[1, 2] => a, "str" => b, [] => c}, "list keys"},
     {"map_map_keys", #{#{a => 1} => x, #{} => y}, "map keys"},
     {"map_tuple_keys", #{{1, 2} => a, {} => b}, "tuple keys"},
     {"map_float_int_keys", #{1 => int, 1.0 => float}, "1 and 1.0 are different keys"},
     {"map_every_key", #{1 => a, 2.5 => b, c => d, <<"e">> => f, "g" => h, {i} => j, [k] => l,
                         #{m => n} => o, self() => p, make_ref() => q, 1 bsl 70 => r}, "a key of every kind"},
     {"map_nested", #{a => #{b => #{c => [1, 2, #{d => e}]}}}, "maps in maps"},
     {"map_32", maps:from_list([{I, I} || I <- lists:seq(1, 32)]), "largest flatmap"},
     {"map_33", maps:from_list([{I, I} || I <- lists:seq(1, 33)]), "smallest hashmap: keys in hash order"},
     {"map_40_atoms", Keys40, "hashmap of atom keys"},
     {"map_100k", maps:from_list([{I, I} || I <- lists:seq(1, 100000)]), "100,000 integer keys"}].

identifiers() ->
    Pid = spawn(fun() -> receive stop -> ok end end),
    Mon = erlang:monitor(process, Pid),
    Alias = alias(),
    Port = open_port({spawn, "true"}, []),
    Entries =
        [{"pid_self", self(), "NEW_PID_EXT of this node"},
         {"pid_other", Pid, "a second process"},
         {"ref_make", make_ref(), "NEWER_REFERENCE_EXT from make_ref/0"},
         {"ref_alias", Alias, "reference from alias/0"},
         {"ref_monitor", Mon, "monitor reference"},
         {"port", Port, "NEW_PORT_EXT from open_port/2"},
         {"rpc_call", {'$gen_call', {self(), Mon}, {call, lists, seq, [1, 3], self()}}, "a gen_server call carrying pids and refs"}],
    Pid ! stop,
    catch port_close(Port),
    Entries.

funs() ->
    A = 42,
    B = <<"env">>,
    C = self(),
    [{"fun_no_env", fun() -> ok end, "NEW_FUN_EXT without free variables"},
     {"fun_env", fun(X) -> X + A end, "NEW_FUN_EXT with one free variable"},
     {"fun_env_many", fun(X) -> {X, A, B, C} end, "NEW_FUN_EXT with a binary and a pid in its environment"},
     {"export_lists_map", fun lists:map/2, "EXPORT_EXT lists:map/2"},
     {"export_self", fun erlang:self/0, "EXPORT_EXT erlang:self/0"}].

nested() ->
    DeepList = lists:foldl(fun(_, Acc) -> [Acc] end, [], lists:seq(1, 5000)),
    DeepTuple = lists:foldl(fun(_, Acc) -> {Acc} end, {}, lists:seq(1, 5000)),
    DeepMap = lists:foldl(fun(_, Acc) -> #{k => Acc} end, #{}, lists:seq(1, 1000)),
    [{"nested_list_5000", DeepList, "5,000 nested lists"},
     {"nested_tuple_5000", DeepTuple, "5,000 nested tuples"},
     {"nested_map_1000", DeepMap, "1,000 nested maps"}].

encodings() ->
    Big = [{I, integer_to_binary(I), [a, b, c]} || I <- lists:seq(1, 2000)],
    Det = maps:from_list([{integer_to_binary(I), I} || I <- lists:seq(1, 50)]),
    [{"otp25_atom", otp25, hello, "ATOM_EXT"},
     {"otp25_atom_unicode", otp25, '日本', "SMALL_ATOM_UTF8_EXT: not Latin-1"},
     {"otp25_pid", otp25, self(), "NEW_PID_EXT with an ATOM_EXT node"},
     {"otp25_mixed", otp25, {ok, #{a => [b, 'ü']}, make_ref()}, "atoms, map and ref"},
     {"minor0_float", minor0, 1.5, "FLOAT_EXT text float"},
     {"minor0_float_neg_tiny", minor0, -5.0e-324, "FLOAT_EXT of the smallest subnormal"},
     {"minor0_atom", minor0, hello, "ATOM_EXT"},
     {"minor0_atom_latin1", minor0, 'héllo', "ATOM_EXT in Latin-1"},
     {"minor0_mixed", minor0, {ok, [1.0, 'ñ', "x"], #{a => 2.5}}, "a term with floats and atoms"},
     {"compressed_list", compressed, Big, "zlib level 6 of a 2,000-tuple list"},
     {"compressed9_list", compressed9, Big, "zlib level 9 of the same"},
     {"compressed_binary_1mb", compressed, binary:copy(<<"0123456789abcdef">>, 65536), "zlib of the 1 MiB binary"},
     {"compressed_small", compressed, {a, b}, "too small to compress: written plain"},
     {"deterministic_map_50", deterministic, Det, "hashmap in sorted order"},
     {"deterministic_nested", deterministic, #{b => Det, a => [Det]}, "nested maps in sorted order"}].

handmade() ->
    OldNode = <<100, 0, 13, "nonode@nohost">>,
    [{handmade, "old_pid_ext", <<131, 103, OldNode/binary, 0, 0, 0, 7, 0, 0, 0, 0, 0>>, "PID_EXT"},
     {handmade, "old_port_ext", <<131, 102, OldNode/binary, 0, 0, 0, 9, 0>>, "PORT_EXT"},
     {handmade, "reference_ext", <<131, 101, OldNode/binary, 0, 0, 0, 5, 0>>, "REFERENCE_EXT"},
     {handmade, "old_reference_ext", <<131, 114, 0, 1, OldNode/binary, 0, 0, 0, 0, 5>>, "NEW_REFERENCE_EXT, one word"},
     {handmade, "v4_port_ext", <<131, 120, 119, 6, "a@host", 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 3>>, "V4_PORT_EXT of a remote node"},
     {handmade, "v4_port_ext_64bit", <<131, 120, 119, 6, "a@host", 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3>>, "V4_PORT_EXT with an ID above 2^32"},
     {handmade, "small_atom_ext", <<131, 115, 2, "ok">>, "SMALL_ATOM_EXT (Latin-1)"},
     {handmade, "small_big_5", <<131, 110, 1, 0, 5>>, "5 as SMALL_BIG_EXT: not the shortest form"},
     {handmade, "integer_ext_7", <<131, 98, 0, 0, 0, 7>>, "7 as INTEGER_EXT: not the shortest form"},
     {handmade, "list_ext_of_bytes", <<131, 108, 0, 0, 0, 2, 97, 1, 97, 2, 106>>, "[1,2] as LIST_EXT, not STRING_EXT"}].
