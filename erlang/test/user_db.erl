%% A stand-in for the user store the guide's `my_handler' uses.
-module(user_db).
-export([fetch/1]).
-export([create/1]).

-spec fetch(term()) -> {ok, map()} | {error, not_found}.
fetch(1) -> {ok, #{id => 1, name => <<"ada">>}};
fetch(_) -> {error, not_found}.

-spec create(map()) -> {ok, map()}.
create(User) -> {ok, User#{id => 2}}.
