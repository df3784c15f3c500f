package test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestServices runs issue 11's promise against the binary: hooks exposed with --expose answer gen_server calls
// by name, and each hook's pg member answers the same calls.
func TestServices(t *testing.T) {
	h := startHornbeam(t, "--expose", "demo.calculator=calc", "--expose", "demo.echo")
	cases := []struct {
		name, expr, want string
	}{
		{"add", `gen_server:call({calc, Go}, {add, 2, 3})`, "5"},
		{"binary action", `gen_server:call({calc, Go}, {<<"multiply">>, 4, 5})`, "20"},
		{"divide by zero", `gen_server:call({calc, Go}, {divide, 1, 0})`, `{error,{badarith,<<"division by zero">>}}`},
		{"unknown action", `gen_server:call({calc, Go}, {shout, 1})`, `{error,{unknown_action,<<"shout">>}}`},
		{"bare action", `gen_server:call({calc, Go}, shout)`, `{error,{unknown_action,<<"shout">>}}`},
		{"echo", `gen_server:call({'demo.echo', Go}, {echo, {a, [1, <<"b">>], #{k => 1.5}, self()}}) =:= {a, [1, <<"b">>], #{k => 1.5}, self()}`, "true"},
		{"cast", `gen_server:cast({calc, Go}, {add, 1, 2})`, "ok"},
		{"failing cast", `gen_server:cast({calc, Go}, {divide, 1, 0})`, "ok"},
		{"empty tuple", `gen_server:call({calc, Go}, {})`, "{error,{badarg,"},
		{"non-tuple", `gen_server:call({calc, Go}, [add, 1, 2])`, "{error,{badarg,"},
		{"action not atom or binary", `gen_server:call({calc, Go}, {1, 2})`, "{error,{badarg,"},
		{"plain message", `{calc, Go} ! hello`, "hello"},
		{"still up", `{net_adm:ping(Go), gen_server:call({calc, Go}, {add, 1, 1})}`, "{pong,2}"},
		{"monitor on the name", `(fun() -> R = erlang:monitor(process, {calc, Go}),
			receive {'DOWN', R, _, _, W} -> W after 200 -> alive end end)()`, "alive"},
		{"monitor on a name not exposed", `(fun() -> R = erlang:monitor(process, {nocalc, Go}),
			receive {'DOWN', R, _, _, W} -> W after 1000 -> alive end end)()`, "noproc"},
		{"pg member", `(fun() -> {ok, _} = pg:start(hornbeam), T0 = erlang:monotonic_time(millisecond),
			[M] = (fun L() -> case pg:get_members(hornbeam, <<"demo.calculator">>) of
				[] -> timer:sleep(5), L(); Ms -> Ms end end)(),
			{node(M) =:= Go, erlang:monotonic_time(millisecond) - T0 < 1000, gen_server:call(M, {add, 40, 2})} end)()`,
			"{true,true,42}"},
		{"sys:get_state", `sys:get_state({calc, Go}, 1000)`, `#{app_path => <<"demo.calculator">>,`},
		{"sys:get_status", `element(1, sys:get_status({calc, Go}, 1000))`, "status"},
		{"pg group hornbeam_hooks", `(fun() -> [M] = pg:get_members(hornbeam, hornbeam_hooks),
			gen_server:call(M, {execute, <<"demo.echo">>, <<"echo">>, [1], #{}}) end)()`, "{ok,1}"},
	}
	var script strings.Builder
	for _, c := range cases {
		fmt.Fprintf(&script, "io:format(\"~s => ~s~n\", [%q, io_lib:print(%s, 1, 1000000, -1)]),\n", c.name, c.expr)
	}
	out := erlEval(t, h.name, script.String()+"ok")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := lineOf(out, c.name+" => ")
			require.True(t, strings.HasPrefix(got, c.want), "got %s; want %s...", got, c.want)
		})
	}
}

// lineOf returns what follows prefix on the first line of out that starts with it.
func lineOf(out, prefix string) string {
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			return rest
		}
	}
	return "(no line " + prefix + "...)"
}

// TestServiceTakenName: --expose of a name the node serves itself, or twice, stops the binary with an error.
func TestServiceTakenName(t *testing.T) {
	for _, flags := range [][]string{
		{"--expose", "demo.echo=hornbeam_hooks"},
		{"--expose", "demo.echo=rex"},
		{"--expose", "demo.echo=net_kernel"},
		{"--expose", "demo.echo=global_name_server"},
		{"--expose", "demo.echo=hornbeam"},
		{"--expose", "demo.echo=calc", "--expose", "demo.calculator=calc"},
	} {
		t.Run(strings.Join(flags, " "), func(t *testing.T) {
			args := append([]string{"--sname", uniqueName("hb"), "--cookie", cookie}, flags...)
			out, err := runWithTimeout(exec.Command(binary, args...), 10*time.Second)
			require.Error(t, err, "the binary kept running:\n%s", out)
			require.Contains(t, string(out), "--expose", "got %s", out)
		})
	}
}

// TestPythonService: a hook a Python worker registers is a named service and a pg member like a Go one.
func TestPythonService(t *testing.T) {
	h := startHornbeam(t, append([]string{"--no-demo", "--expose", "embeddings=emb"}, pythonFlags(t, "guide_hooks", 1)...)...)
	out := erlEval(t, h.name, `
		{ok, _} = pg:start(hornbeam), pong = net_adm:ping(Go),
		[M] = (fun L() -> case pg:get_members(hornbeam, <<"embeddings">>) of [] -> timer:sleep(10), L(); Ms -> Ms end end)(),
		io:format("named => ~p~n", [gen_server:call({emb, Go}, {encode, <<"Hello world">>})]),
		io:format("member => ~p~n", [gen_server:call(M, {<<"encode">>, <<"Hello world">>})])`)
	for _, name := range []string{"named", "member"} {
		if got := lineOf(out, name+" => "); got != "[11.0,3.0,1.0]" {
			t.Errorf("%s: got %s; want [11.0,3.0,1.0]", name, got)
		}
	}
}
