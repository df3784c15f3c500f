package test

import (
	"bufio"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// erlLines is an erl node whose output a test reads line by line.
type erlLines struct {
	lines chan string
	seen  strings.Builder
}

// startErlLines runs script on a fresh erl node that is killed at cleanup; the script sees the Go node's name
// bound to Go. args go first on erl's command line.
func startErlLines(t *testing.T, goNode, script string, args ...string) *erlLines {
	t.Helper()
	args = append(args, "-noshell", "-sname", uniqueName("erl"), "-setcookie", cookie,
		"-eval", fmt.Sprintf("Go = '%s', %s", goNode, script))
	cmd := exec.Command("erl", args...)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	e := &erlLines{lines: make(chan string, 256)}
	go func() {
		defer close(e.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			e.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return e
}

// waitLine waits up to timeout for the line want and returns when it came.
func (e *erlLines) waitLine(t *testing.T, want string, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-e.lines:
			if !ok {
				t.Fatalf("erl exited before printing %q; output:\n%s", want, e.seen.String())
			}
			e.seen.WriteString(l + "\n")
			if strings.TrimSpace(l) == want {
				return time.Now()
			}
		case <-deadline:
			t.Fatalf("erl did not print %q within %v; output:\n%s", want, timeout, e.seen.String())
		}
	}
}

// TestPGMembersGoneWhenKilled: pg:get_members on a BEAM node lists the binary's demo.calculator member, loses it
// within a second of the binary being killed, and gets the member of its restart once connected again.
func TestPGMembersGoneWhenKilled(t *testing.T) {
	h := startHornbeam(t, "--pg-scope", "services")
	e := startErlLines(t, h.name, `
		{ok, _} = pg:start(services),
		Count = fun() -> length([P || P <- pg:get_members(services, <<"demo.calculator">>), node(P) =:= Go]) end,
		Await = fun(N) -> (fun L() -> case Count() of N -> io:format("members ~p~n", [N]); _ -> timer:sleep(5), L() end end)() end,
		pong = net_adm:ping(Go),
		Await(1),
		Await(0),
		(fun L() -> case net_adm:ping(Go) of pong -> ok; pang -> timer:sleep(50), L() end end)(),
		Await(1),
		receive after infinity -> ok end.`)
	e.waitLine(t, "members 1", 5*time.Second)

	require.NoError(t, h.cmd.Process.Kill())
	killed := time.Now()
	if took := e.waitLine(t, "members 0", 5*time.Second).Sub(killed); took > time.Second {
		t.Errorf("members gone %v after the kill; want within 1s", took)
	}
	_ = h.cmd.Wait()

	startHornbeamNamed(t, h.name, "--pg-scope", "services")
	e.waitLine(t, "members 1", 10*time.Second)
}

// TestPGHiddenErl: an erl -hidden node, whose pg scope does not discover the nodes it connects to, lists the
// binary's member all the same, whether its scope starts before or after the connection.
func TestPGHiddenErl(t *testing.T) {
	h := startHornbeam(t)
	for _, order := range []string{
		`{ok, _} = pg:start(hornbeam), true = net_kernel:connect_node(Go),`,
		`true = net_kernel:connect_node(Go), timer:sleep(200), {ok, _} = pg:start(hornbeam),`,
	} {
		e := startErlLines(t, h.name, order+`
			[] = nodes(), [Go] = nodes(hidden),
			(fun L() -> case [P || P <- pg:get_members(hornbeam, <<"demo.echo">>), node(P) =:= Go] of
				[_] -> io:format("member~n"); [] -> timer:sleep(5), L() end end)(),
			receive after infinity -> ok end.`, "-hidden")
		e.waitLine(t, "member", 5*time.Second)
	}
}
