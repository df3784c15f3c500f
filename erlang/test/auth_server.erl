%% A stand-in for the session service the guide's `auth' hook uses.
-module(auth_server).
-export([verify/1]).
-export([create_session/1]).

%% @doc The user a token belongs to.
-spec verify(binary()) -> {ok, pos_integer()} | error.
verify(<<"good-token">>) -> {ok, 42};
verify(_) -> error.

%% @doc A new session id for the user.
-spec create_session(pos_integer()) -> binary().
create_session(UserId) -> <<"session-", (integer_to_binary(UserId))/binary>>.
