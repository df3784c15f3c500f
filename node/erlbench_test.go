package node

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
	"github.com/hornbeam-go/hornbeam/internal/hookstest"
	"github.com/stretchr/testify/require"
)

// Sizes of TestErlangHandlerRatio.
const (
	ratioRounds = 3
	ratioWarm   = 1000
	ratioCalls  = 5000
)

// ratioPayload is the echoed term, in Erlang and as Go sends it.
const ratioPayload = `#{<<"user">> => <<"alice">>, <<"ids">> => [1, 2, 3], <<"n">> => 42}`

var ratioTerm = etf.Map{
	{Key: []byte("user"), Value: []byte("alice")},
	{Key: []byte("ids"), Value: etf.List{int64(1), int64(2), int64(3)}},
	{Key: []byte("n"), Value: int64(42)},
}

// TestErlangHandlerRatio measures Go → Erlang handler against Erlang → Erlang, alternating in one run: the p50
// of engine.Execute on erl.echo, an Erlang hook that node A registered with hornbeam_hooks:reg, and the p50 of
// an erl node B calling gen_server:call on A's echo gen_server (bench/hb_beam_server.erl) with the same
// payload. Run it with ERL_RATIOS=1 go test ./node -run TestErlangHandlerRatio -v.
func TestErlangHandlerRatio(t *testing.T) {
	if os.Getenv("ERL_RATIOS") == "" {
		t.Skip("set ERL_RATIOS=1 to measure")
	}
	requireErl(t)
	eng := hookstest.Engine(t)
	n := startNode(t, eng)
	dir := hooksBeam(t)
	out, err := exec.Command("erlc", "-o", dir, "../bench/hb_beam_server.erl").CombinedOutput()
	require.NoError(t, err, "erlc: %s", out)
	a := startErl(t, testCookie, n.Name(), hooksReg(dir)+`,
		{ok, _} = hb_beam_server:start(),
		io:format("ready~n"), receive after infinity -> ok end`)
	a.waitLine(t, "ready", 20*time.Second)

	call := hooks.Call{AppPath: "erl.echo", Action: "echo", Args: []etf.Term{ratioTerm}}
	goP50 := func() time.Duration {
		ctx := context.Background()
		ts := make([]time.Duration, ratioCalls)
		for i := range ratioWarm + ratioCalls {
			start := time.Now()
			v, err := eng.Execute(ctx, call)
			if i >= ratioWarm {
				ts[i-ratioWarm] = time.Since(start)
			}
			require.NoError(t, err)
			require.True(t, etf.Equal(ratioTerm, v))
		}
		slices.Sort(ts)
		return ts[len(ts)/2]
	}
	script := fmt.Sprintf(`
		P = %s,
		pong = net_adm:ping(Go),
		Call = fun() -> {ok, P} = gen_server:call({hornbeam_hooks, Go}, {execute, <<"demo.echo">>, <<"echo">>, [P], #{}}, 5000) end,
		[Call() || _ <- lists:seq(1, %d)],
		Ts = [begin T0 = erlang:monotonic_time(nanosecond), Call(), erlang:monotonic_time(nanosecond) - T0 end
			|| _ <- lists:seq(1, %d)],
		io:format("p50 ~b~n", [lists:nth(%d, lists:sort(Ts))])`, ratioPayload, ratioWarm, ratioCalls, ratioCalls/2+1)
	erlP50 := func() time.Duration {
		out := runErl(t, testCookie, a.name, script, 60*time.Second)
		i := strings.LastIndex(out, "p50 ")
		require.GreaterOrEqual(t, i, 0, "erl printed %q", out)
		var ns int64
		_, err := fmt.Sscanf(out[i:], "p50 %d", &ns)
		require.NoError(t, err, "erl printed %q", out)
		return time.Duration(ns)
	}

	var gos, erls []time.Duration
	for range ratioRounds {
		gos = append(gos, goP50())
		erls = append(erls, erlP50())
	}
	slices.Sort(gos)
	slices.Sort(erls)
	g, e := gos[len(gos)/2], erls[len(erls)/2]
	fmt.Printf("Go -> Erlang handler p50: %v (rounds %v)\nErlang -> Erlang gen_server p50: %v (rounds %v)\nratio Go/Erlang: %.2f\n",
		g, gos, e, erls, float64(g)/float64(e))
}
