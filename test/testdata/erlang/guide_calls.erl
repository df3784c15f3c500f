%% @doc The hooks guide's Erlang calls ("Calling Hooks: From Erlang" and "Python Service Called from Erlang"), as
%% written, wrapped in functions for the end-to-end tests (test/python_test.go). The request handler's web
%% framework is a stand-in: a request is a map holding the image URL, and the response is the JSON term itself.
-module(guide_calls).

%% API.
-export([sync/1]).
-export([async/1]).
-export([streaming/1]).
-export([handle_request/1]).

%% API.

%% @doc The synchronous call: the embedding of `Text'.
-spec sync(binary()) -> term().
sync(Text) ->
    %% Synchronous
    {ok, Embedding} = hornbeam_hooks:execute(<<"embeddings">>, <<"encode">>, [Text], #{}),
    Embedding.

%% @doc The async call: train on `Data', then await the result.
-spec async(term()) -> term().
async(Data) ->
    %% Async
    {ok, TaskId} = hornbeam_hooks:execute_async(<<"ml">>, <<"train">>, [Data], #{}),
    %% ... do other work ...
    {ok, Result} = hornbeam_hooks:await_result(TaskId, 60000),
    Result.

%% @doc The streaming call: prints each chunk the LLM generates for `Prompt'.
-spec streaming(binary()) -> ok.
streaming(Prompt) ->
    %% Streaming
    {ok, Gen} = hornbeam_hooks:stream(<<"llm">>, <<"generate">>, [Prompt], #{}),
    stream_loop(Gen).

-spec stream_loop(hornbeam_hooks:generator()) -> ok.
stream_loop(Gen) ->
    case Gen() of
        {value, Chunk} ->
            io:format("~s", [Chunk]),
            stream_loop(Gen);
        done ->
            ok
    end.

%% @doc The request handler that classifies the image at the request's URL.
-spec handle_request(#{image_url := binary()}) -> term().
handle_request(Req) ->
    ImageUrl = get_image_url(Req),
    {ok, Classification} = hornbeam_hooks:execute(
        <<"classifier">>,
        <<"classify">>,
        [ImageUrl],
        #{}
    ),
    respond_json(Req, Classification).

%% Internal.

-spec get_image_url(#{image_url := binary()}) -> binary().
get_image_url(#{image_url := Url}) ->
    Url.

-spec respond_json(map(), term()) -> term().
respond_json(_Req, Json) ->
    Json.
