%% @doc A stand-in for the session service behind the hooks guide's `auth' hook (test/python_test.go).
%% A session id is `<<"session-", UserId>>'; it needs no state, so any process may verify it.
-module(auth_server).

%% API.
-export([verify/1]).
-export([create_session/1]).

%% API.

%% @doc The user a session id belongs to; `error' for anything else.
-spec verify(term()) -> {ok, pos_integer()} | error.
verify(<<"session-", Id/binary>>) ->
    try binary_to_integer(Id) of
        UserId when UserId > 0 -> {ok, UserId};
        _ -> error
    catch
        error:badarg -> error
    end;
verify(_) ->
    error.

%% @doc A new session id for `UserId'.
-spec create_session(pos_integer()) -> binary().
create_session(UserId) when is_integer(UserId), UserId > 0 ->
    <<"session-", (integer_to_binary(UserId))/binary>>.
