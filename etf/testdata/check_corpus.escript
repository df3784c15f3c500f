#!/usr/bin/env escript
%% -*- erlang -*-
%%
%% check_corpus reads a manifest written by corpus_test.go and checks, with
%% this node's binary_to_term/1, the bytes our Go encoder wrote:
%%
%%     escript etf/testdata/check_corpus.escript MANIFEST
%%
%% Each manifest line is tab-separated, one of
%%     file <TAB> Name <TAB> OriginalPath <TAB> OursPath
%%         Ours must decode to a term =:= to the one Original decodes to;
%%     expr <TAB> Name <TAB> OursPath <TAB> ErlangExpression
%%         Ours must decode to a term =:= to the expression's value.
%% For each line it prints one tab-separated line
%%     result <TAB> Name <TAB> Status <TAB> Detail
%% where Status is identical (Ours has the same bytes as the original, or as
%% term_to_binary(T, [{minor_version,2}]) for an expression), canonical (for a
%% file: other bytes than the original, the same as this node's
%% term_to_binary(T, [{minor_version,2}])), equal (=:= in other bytes),
%% mismatch or error.
-mode(compile).

-spec main([string()]) -> ok.
main([Manifest]) ->
    {ok, Text} = file:read_file(Manifest),
    Lines = [L || L <- binary:split(Text, <<"\n">>, [global]), L =/= <<>>],
    lists:foreach(fun check/1, Lines);
main(_) ->
    io:format(standard_error, "usage: check_corpus.escript MANIFEST~n", []),
    halt(2).

check(Line) ->
    [Kind, Name | Rest] = binary:split(Line, <<"\t">>, [global]),
    {Status, Detail} =
        try compare(Kind, Rest) of
            Result -> Result
        catch
            Class:Reason -> {error, io_lib:format("~p:~0p", [Class, Reason])}
        end,
    io:format("result\t~s\t~s\t~s~n", [Name, Status, Detail]).

compare(<<"file">>, [OrigPath, OursPath]) ->
    {ok, Orig} = file:read_file(OrigPath),
    {ok, Ours} = file:read_file(OursPath),
    Term = binary_to_term(Orig),
    case verdict(Term, Ours, Orig) of
        {equal, _} -> verdict(canonical, Term, Ours, term_to_binary(Term, [{minor_version, 2}]));
        Result -> Result
    end;
compare(<<"expr">>, [OursPath, Source]) ->
    {ok, Ours} = file:read_file(OursPath),
    Expected = eval(Source),
    verdict(Expected, Ours, term_to_binary(Expected, [{minor_version, 2}])).

verdict(Expected, Ours, Reference) ->
    verdict(identical, Expected, Ours, Reference).

verdict(Same, Expected, Ours, Reference) ->
    Got = binary_to_term(Ours),
    case {Got =:= Expected, Ours =:= Reference} of
        {true, true} -> {Same, ""};
        {true, false} -> {equal, io_lib:format("~b bytes, reference ~b", [byte_size(Ours), byte_size(Reference)])};
        {false, _} -> {mismatch, io_lib:format("got ~0P, want ~0P", [Got, 12, Expected, 12])}
    end.

eval(Source) ->
    Chars = unicode:characters_to_list(Source),
    {ok, Tokens, _} = erl_scan:string(Chars ++ "."),
    {ok, [Expr]} = erl_parse:parse_exprs(Tokens),
    {value, Value, _} = erl_eval:expr(Expr, erl_eval:new_bindings()),
    Value.
