package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// clientSetup loads the Erlang client and points it at the Go node, as the
// hooks guide's callers must before their first call; Check prints one named
// result for erlChecks.
const clientSetup = `
	Check = fun(Name, Term) -> io:format("check ~s: ~9999p~n", [Name, Term]) end,
	ok = application:load(hornbeam_hooks),
	ok = application:set_env(hornbeam_hooks, nodes, [Go]),
	ok = application:set_env(hornbeam_hooks, timeout, 5000),
`

// compileErlang compiles the Erlang client (erlang/src) and the given files
// of testdata/erlang with erlc into a fresh directory, with the client's .app
// file, and returns the directory for erlEval.
func compileErlang(t *testing.T, testdata ...string) string {
	t.Helper()
	dir := t.TempDir()
	srcs, err := filepath.Glob("../erlang/src/*.erl")
	require.NoError(t, err)
	require.NotEmpty(t, srcs)
	for _, f := range testdata {
		srcs = append(srcs, filepath.Join("testdata", "erlang", f))
	}
	out, err := runWithTimeout(exec.Command("erlc", append([]string{"-o", dir}, srcs...)...), 60*time.Second)
	require.NoError(t, err, "erlc said:\n%s", out)
	app, err := os.ReadFile("../erlang/src/hornbeam_hooks.app.src")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hornbeam_hooks.app"), app, 0o644))
	return dir
}

var checkLine = regexp.MustCompile(`(?m)^check (.+?): (.*)$`)

// erlChecks returns what a script printed with clientSetup's Check, by name.
func erlChecks(out string) map[string]string {
	got := map[string]string{}
	for _, m := range checkLine.FindAllStringSubmatch(out, -1) {
		got[m[1]] = strings.TrimSpace(m[2])
	}
	return got
}

// requireChecks asserts that each named check printed exactly its wanted term.
func requireChecks(t *testing.T, out string, want [][2]string) {
	t.Helper()
	got := erlChecks(out)
	for _, w := range want {
		require.Contains(t, got, w[0], "check %q missing; erl printed:\n%s", w[0], out)
		require.Equal(t, w[1], got[w[0]], "check %q: got %s; want %s", w[0], got[w[0]], w[1])
	}
}

// TestErlangAuthFromPython runs the guide's "Erlang Service Called from
// Python": an erl node registers the guide's auth fun, and the guide's
// login_required wrapper in a Python worker calls it. Every call goes
// Erlang → Go → Python → Go → Erlang (the same erl node), so the node and the
// worker must serve nested calls while one waits: valid, forged and missing
// tokens, then twenty concurrent logins.
func TestErlangAuthFromPython(t *testing.T) {
	ebin := compileErlang(t, "auth_server.erl")
	h := startHornbeam(t, append([]string{"--no-demo"}, pythonFlags(t, "guide_hooks", 2)...)...)
	out := erlEval(t, h.name, clientSetup+`
	ok = hornbeam_hooks:reg(<<"auth">>, fun
	    (<<"verify_token">>, [Token], _) ->
	        case auth_server:verify(Token) of
	            {ok, UserId} -> {ok, UserId};
	            error -> {error, invalid_token}
	        end;
	    (<<"create_session">>, [UserId], _) ->
	        SessionId = auth_server:create_session(UserId),
	        {ok, SessionId}
	end),
	{ok, Session} = hornbeam_hooks:execute(<<"web">>, <<"login">>, [42], #{}),
	Check("session", Session),
	Check("valid token", hornbeam_hooks:execute(<<"web">>, <<"profile">>, [Session], #{})),
	Check("forged token", hornbeam_hooks:execute(<<"web">>, <<"profile">>, [<<"session-forged">>], #{})),
	Check("no token", hornbeam_hooks:execute(<<"web">>, <<"profile">>, [], #{})),
	Check("auth directly", hornbeam_hooks:execute(<<"auth">>, <<"verify_token">>, [<<"nope">>], #{})),
	Self = self(),
	Users = lists:seq(1, 20),
	[spawn(fun() ->
	    Self ! {N, case hornbeam_hooks:execute(<<"web">>, <<"login">>, [N], #{}) of
	        {ok, S} -> hornbeam_hooks:execute(<<"web">>, <<"profile">>, [S], #{});
	        LoginError -> {login, LoginError}
	    end}
	 end) || N <- Users],
	Replies = [receive {N, R} -> R after 11000 -> no_reply end || N <- Users],
	Check("concurrent logins", [{N, R} || {N, R} <- lists:zip(Users, Replies), R =/= {ok, #{<<"user_id">> => N}}])
	`, ebin)
	requireChecks(t, out, [][2]string{
		{"session", `<<"session-42">>`},
		{"valid token", `{ok,#{<<"user_id">> => 42}}`},
		{"forged token", `{ok,{#{<<"error">> => <<"Unauthorized">>},401}}`},
		{"no token", `{ok,{#{<<"error">> => <<"Unauthorized">>},401}}`},
		{"auth directly", `{error,invalid_token}`},
		{"concurrent logins", `[]`},
	})
}

// TestConcurrentSlowCallsAllAnswered holds docs/protocol.md's "every request
// gets exactly one reply; calls run concurrently" under a burst: 32 erl
// processes call demo.sleep (30 ms) at once, ten times over, and every
// call is answered well within its 5 s timeout.
func TestConcurrentSlowCallsAllAnswered(t *testing.T) {
	h := startHornbeam(t)
	out := erlEval(t, h.name, `
	Check = fun(Name, Term) -> io:format("check ~s: ~9999p~n", [Name, Term]) end,
	pong = net_adm:ping(Go),
	Burst = fun() ->
	    Self = self(),
	    Callers = lists:seq(1, 32),
	    [spawn(fun() ->
	        Self ! {N, catch gen_server:call({hornbeam_hooks, Go},
	            {execute, <<"demo.sleep">>, <<"sleep">>, [30], #{}}, 5000)}
	     end) || N <- Callers],
	    [N || N <- Callers, receive {N, R} -> R =/= {ok, ok} after 6000 -> true end]
	end,
	Check("unanswered", [{I, Lost} || I <- lists:seq(1, 10), Lost <- [Burst()], Lost =/= []])
	`)
	requireChecks(t, out, [][2]string{{"unanswered", `[]`}})
}
