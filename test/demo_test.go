package test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDemoHooks runs the README's promises against the binary: ping answers
// pong and every demo hook answers from a plain erl node, through
// gen_server:call, rpc:call and erpc:call.
func TestDemoHooks(t *testing.T) {
	h := startHornbeam(t)
	cases := []struct {
		name, code, want string
	}{
		{"ping", `io:format("~p~n", [net_adm:ping(Go)])`, "pong"},
		{"echo", `io:format("~p~n", [gen_server:call({hornbeam_hooks, Go},
			{execute, <<"demo.echo">>, <<"echo">>, [#{<<"k">> => [1, 2.5, x]}], #{}})])`,
			`{ok,#{<<"k">> => [1,2.5,x]}}`},
		{"add", `io:format("~p~n", [gen_server:call({hornbeam_hooks, Go},
			{execute, <<"demo.calculator">>, <<"add">>, [1, 2], #{}})])`, "{ok,3}"},
		{"multiply bignum", `io:format("~p~n", [gen_server:call({hornbeam_hooks, Go},
			{execute, <<"demo.calculator">>, <<"multiply">>, [1 bsl 70, -3], #{}})])`, "{ok,-3541774862152233910272}"},
		{"divide by zero", `io:format("~p~n", [gen_server:call({hornbeam_hooks, Go},
			{execute, <<"demo.calculator">>, <<"divide">>, [1, 0], #{}})])`, `{error,{badarith,<<"division by zero">>}}`},
		{"sleep", `io:format("~p~n", [gen_server:call({hornbeam_hooks, Go},
			{execute, <<"demo.sleep">>, <<"sleep">>, [5], #{}})])`, "{ok,ok}"},
		{"sleep past the deadline", `io:format("~p~n", [gen_server:call({hornbeam_hooks, Go},
			{execute, <<"demo.sleep">>, <<"sleep">>, [5000], #{}, #{timeout => 50}})])`, "{error,timeout}"},
		{"unknown action", `io:format("~p~n", [gen_server:call({hornbeam_hooks, Go},
			{execute, <<"demo.echo">>, <<"shout">>, [1], #{}})])`, `{error,{unknown_action,<<"shout">>}}`},
		{"unknown path", `io:format("~p~n", [gen_server:call({hornbeam_hooks, Go},
			{execute, <<"nope">>, <<"x">>, [], #{}})])`, `{error,{not_found,<<"nope">>}}`},
		{"bad request", `io:format("~p~n", [gen_server:call({hornbeam_hooks, Go}, hello)])`,
			"{error,{bad_request,hello}}"},
		{"rpc", `io:format("~p~n", [rpc:call(Go, hornbeam_hooks, execute,
			[<<"demo.echo">>, <<"echo">>, [{1, "two", <<"three">>}], #{}])])`, `{ok,{1,"two",<<"three">>}}`},
		{"erpc", `io:format("~p~n", [erpc:call(Go, hornbeam_hooks, execute,
			[<<"demo.calculator">>, <<"add">>, [1.5, 2], #{}])])`, "{ok,3.5}"},
		{"counter stream", `
			{ok, Ref} = gen_server:call({hornbeam_hooks, Go}, {stream, <<"demo.counter">>, <<"count">>, [5], #{}}),
			Loop = fun L(Acc) ->
				receive
					{hornbeam_stream, Ref, {chunk, X}} -> L([X | Acc]);
					{hornbeam_stream, Ref, {chunks, Xs}} -> L(lists:reverse(Xs, Acc));
					{hornbeam_stream, Ref, done} -> lists:reverse(Acc)
				after 5000 -> timeout
				end
			end,
			io:format("~p~n", [Loop([])])`, "[0,1,2,3,4]"},
		{"async", `
			{ok, Id} = gen_server:call({hornbeam_hooks, Go}, {execute_async, <<"demo.sleep">>, <<"sleep">>, [20], #{}}),
			io:format("~p~n", [gen_server:call({hornbeam_hooks, Go}, {await_result, Id, 5000})])`, "{ok,ok}"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := erlEval(t, h.name, c.code)
			require.Contains(t, got, c.want, "got %s; want %s", got, c.want)
		})
	}
}
