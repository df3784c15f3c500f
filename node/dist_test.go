package node

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPing(t *testing.T) {
	requireErl(t)
	n := startNode(t, testEngine(t))
	out := runErl(t, testCookie, n.Name(), `io:format("~p~n", [net_adm:ping(Go)])`, 20*time.Second)
	require.Equal(t, "pong", strings.TrimSpace(out))
}

func TestGenCallEcho(t *testing.T) {
	requireErl(t)
	n := startNode(t, testEngine(t))
	out := runErl(t, testCookie, n.Name(), `
		R = gen_server:call({hornbeam_hooks, Go}, {execute, <<"echo">>, <<"echo">>, [{a, <<"b">>, 1}], #{}}, 5000),
		io:format("~p~n", [R])`, 20*time.Second)
	require.Equal(t, `{ok,{a,<<"b">>,1}}`, strings.TrimSpace(out))
}
