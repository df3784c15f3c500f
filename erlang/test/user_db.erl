%% A stand-in for the user store the guide's `my_handler' uses.
-module(user_db).
-export([fetch/1]).
-export([create/1]).

%% @doc The user with this id.
-spec fetch(term()) -> {ok, map()} | {error, not_found}.
fetch(1) -> {ok, #{id => 1, name => <<"ada">>}};
fetch(_) -> {error, not_found}.

%% @doc Stores a user and returns it with its id.
-spec create(map()) -> {ok, map()}.
create(User) -> {ok, User#{id => 2}}.
