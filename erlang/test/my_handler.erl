%% The guide's module handler, as written there.
-module(my_handler).
-export([handle/3]).

handle(<<"get_user">>, [UserId], _Kwargs) ->
    user_db:fetch(UserId);
handle(<<"create_user">>, [Name, Email], _Kwargs) ->
    user_db:create(#{name => Name, email => Email});
handle(Action, _Args, _Kwargs) ->
    {error, {unknown_action, Action}}.
