package test

import (
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestWrongCookieRefused: a node with another cookie gets pang, the Go node logs why, naming that node, and
// goes on serving.
func TestWrongCookieRefused(t *testing.T) {
	h := startHornbeam(t)
	peer := uniqueName("erl")
	out, err := runWithTimeout(exec.Command("erl", "-noshell", "-sname", peer, "-setcookie", "not_the_cookie",
		"-eval", "io:format(\"~p~n\", [net_adm:ping('"+h.name+"')]), init:stop()."), 30*time.Second)
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "pang")
	require.Contains(t, h.log.String(), "rejected connection from "+peer+": invalid challenge reply (cookie mismatch?)")
	require.Contains(t, erlEval(t, h.name, `io:format("~p~n", [net_adm:ping(Go)])`), "pong")
}

// TestHiddenNode: with --hidden the node answers ping but BEAM lists it in nodes(hidden), not in nodes().
func TestHiddenNode(t *testing.T) {
	h := startHornbeam(t, "--hidden")
	out := erlEval(t, h.name, `P = net_adm:ping(Go),
		io:format("~p~n", [{P, lists:member(Go, nodes(hidden)), lists:member(Go, nodes())}])`)
	require.Contains(t, out, "{pong,true,false}")
}

// TestNoDemo: --no-demo starts a node with no hooks at all.
func TestNoDemo(t *testing.T) {
	h := startHornbeam(t, "--no-demo")
	require.Contains(t, erlEval(t, h.name, `io:format("~p~n", [gen_server:call({hornbeam_hooks, Go}, all)])`), "{ok,[]}")
}

// TestSIGTERMStopsCleanly: SIGTERM ends the node with exit status 0, and its peers see it go.
func TestSIGTERMStopsCleanly(t *testing.T) {
	h := startHornbeam(t)
	require.NoError(t, h.cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- h.cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "log:\n%s", h.log.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("hornbeam still running 10 s after SIGTERM; log:\n%s", h.log.String())
	}
	require.Contains(t, h.log.String(), "node stopped")
}
