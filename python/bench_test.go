package python

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
	"github.com/hornbeam-go/hornbeam/proto"
)

// benchModule is the module the benchmarks' workers run, shared with bench/python.sh.
const benchModule = "../bench/python_hooks.py"

// loopScript runs erlport's loop shape, one thread decoding a call, calling
// and encoding the reply with hornbeam_erlang.etf; with --bare it echoes
// frames without decoding them (the floor of any port protocol).
const loopScript = "../bench/python_erlport_like.py"

const (
	benchPath    = "py.bench"
	benchCallers = 32
	benchWarmup  = 300
	benchBlock   = 200
)

// benchArg is the argument every echo carries, as in bench/hb_bench.erl.
var benchArg = []byte("hello")

// benchPython returns $HORNBEAM_PYTHON, else Debian's /usr/bin/python3, else python3 on PATH.
func benchPython(b *testing.B) string {
	for _, py := range []string{os.Getenv("HORNBEAM_PYTHON"), "/usr/bin/python3", "python3"} {
		if py == "" {
			continue
		}
		if path, err := exec.LookPath(py); err == nil {
			return path
		}
	}
	b.Skip("no python3")
	return ""
}

// startBench returns an engine with the Go hook go.echo and a pool of n
// workers serving py.bench; both close when the benchmark ends.
func startBench(b *testing.B, n int) *hooks.Engine {
	b.Helper()
	dir, err := filepath.Abs(filepath.Dir(benchModule))
	if err != nil {
		b.Fatal(err)
	}
	eng := hooks.New(hooks.Options{})
	b.Cleanup(func() { eng.Close() })
	echo := hooks.Func(func(_ context.Context, _ string, args []etf.Term, _ etf.Map) (any, error) {
		return args[0], nil
	})
	if err := eng.Register("go.echo", echo); err != nil {
		b.Fatal(err)
	}
	pool, err := Start(eng, Config{
		Module: "python_hooks:setup", Workers: n, Python: benchPython(b), PythonPath: []string{dir},
		Env: []string{"PYTHONDONTWRITEBYTECODE=1"}, Output: os.Stderr,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pool.Close() })
	return eng
}

// pipePeer is a python3 process running loopScript.
type pipePeer struct {
	r *etf.PacketReader
	w *etf.PacketWriter
}

// startPipe starts loopScript with args and its frames on fds 3 and 4, as a worker's.
func startPipe(b *testing.B, args ...string) *pipePeer {
	b.Helper()
	pkg, err := filepath.Abs(".")
	if err != nil {
		b.Fatal(err)
	}
	toPyR, toPyW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	fromPyR, fromPyW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(benchPython(b), append([]string{loopScript}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+pkg)
	cmd.ExtraFiles = []*os.File{toPyR, fromPyW}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	toPyR.Close()
	fromPyW.Close()
	b.Cleanup(func() {
		toPyW.Close()
		cmd.Wait()
		fromPyR.Close()
	})
	r, _ := etf.NewPacketReader(fromPyR, etf.Packet4)
	w, _ := etf.NewPacketWriter(toPyW, etf.Packet4)
	return &pipePeer{r: r, w: w}
}

// ping writes frame and waits for it to come back.
func (p *pipePeer) ping(frame []byte) error {
	if err := p.w.WriteFrame(frame); err != nil {
		return err
	}
	back, err := p.r.ReadFrame()
	if err == nil && len(back) != len(frame) {
		err = fmt.Errorf("pipe: sent %d bytes, got %d back", len(frame), len(back))
	}
	return err
}

// loopCall encodes an erlport call {'C', Id, '__main__', echo, [Arg]}, sends
// it and decodes the reply {'r', Id, Arg}, as an erlport caller does.
func (p *pipePeer) loopCall(id int64) error {
	frame, err := etf.Encode(etf.Tuple{etf.Atom("C"), id, etf.Atom("__main__"), etf.Atom("echo"), etf.List{benchArg}})
	if err != nil {
		return err
	}
	if err := p.w.WriteFrame(frame); err != nil {
		return err
	}
	back, err := p.r.ReadFrame()
	if err != nil {
		return err
	}
	reply, err := etf.Decode(back)
	if t, ok := reply.(etf.Tuple); err == nil && (!ok || len(t) != 3 || t[1] != id) {
		err = fmt.Errorf("loop: got %v; want {r, %d, _}", reply, id)
	}
	return err
}

// callFrame is the frame the link writes for call: the pipe baseline's payload.
func callFrame(b *testing.B, call hooks.Call) []byte {
	frame, err := etf.Encode(etf.Tuple{proto.AtomCall, int64(1), call.AppPath, call.Action, etf.List(call.Args), etf.Map{}})
	if err != nil {
		b.Fatal(err)
	}
	return frame
}

// quantile returns the q quantile of sorted d in microseconds.
func quantile(d []time.Duration, q float64) float64 {
	if len(d) == 0 {
		return 0
	}
	i := min(len(d)-1, int(q*float64(len(d))))
	return float64(d[i]) / float64(time.Microsecond)
}

// reportLatency sorts d and reports its p50 and p99 as prefix+"p50-us" and prefix+"p99-us".
func reportLatency(b *testing.B, prefix string, d []time.Duration) float64 {
	slices.Sort(d)
	p50 := quantile(d, 0.50)
	b.ReportMetric(p50, prefix+"p50-us")
	b.ReportMetric(quantile(d, 0.99), prefix+"p99-us")
	return p50
}

// cpuNow returns the CPU time, user and system, this process has used so far.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the Go process's CPU time per call since from, over n calls, as go-cpu-us.
func reportCPU(b *testing.B, from time.Duration, n int) {
	b.ReportMetric(float64(cpuNow()-from)/float64(max(n, 1))/float64(time.Microsecond), "go-cpu-us")
}

// timeCalls calls f(0) … f(n-1) one after another and returns the time each took.
func timeCalls(b *testing.B, f func(int) error, n int) []time.Duration {
	d := make([]time.Duration, n)
	for i := range d {
		t0 := time.Now()
		if err := f(i); err != nil {
			b.Fatal(err)
		}
		d[i] = time.Since(t0)
	}
	return d
}

// mean returns the mean of d in nanoseconds.
func mean(d []time.Duration) float64 {
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return float64(sum) / float64(max(1, len(d)))
}

// BenchmarkExecute times a Go → Python execute of an echo action on one
// worker against two baselines driven from Go over the same kind of pipes: a
// bare ping-pong of the same frame with a python3 loop that does not decode it
// (pipe-, the floor of any port protocol), and an erlport-shaped call to a
// single-threaded python3 loop that decodes, calls and encodes with our codec
// (loop-). The three take turns in blocks of benchBlock calls, so each is timed
// as a caller calling in a loop meets it; "interleaved" takes turns call by
// call instead, so each peer is called once every three round trips, as a
// caller calling now and then meets it. x-pipe and x-loop are the ratios of
// the p50s; ns/op is the mean execute. "back-to-back" times executes alone and
// the Go process's CPU per call.
func BenchmarkExecute(b *testing.B) {
	eng := startBench(b, 1)
	pipe := startPipe(b, "--bare")
	loop := startPipe(b)
	call := hooks.Call{AppPath: benchPath, Action: "echo", Args: []etf.Term{benchArg}}
	frame := callFrame(b, call)
	execute := func(int) error {
		_, err := eng.Execute(context.Background(), call)
		return err
	}
	ping := func(int) error { return pipe.ping(frame) }
	loopCall := func(i int) error { return loop.loopCall(int64(i)) }
	report := func(b *testing.B, calls, pings, loops []time.Duration) {
		b.ReportMetric(mean(calls), "ns/op")
		p50 := reportLatency(b, "", calls)
		b.ReportMetric(p50/reportLatency(b, "pipe-", pings), "x-pipe")
		b.ReportMetric(p50/reportLatency(b, "loop-", loops), "x-loop")
	}
	b.Run("workers=1", func(b *testing.B) {
		var times [3][]time.Duration
		for i, f := range []func(int) error{execute, ping, loopCall} {
			timeCalls(b, f, benchWarmup)
			times[i] = make([]time.Duration, 0, b.N)
		}
		for len(times[0]) < b.N {
			n := min(benchBlock, b.N-len(times[0]))
			for i, f := range []func(int) error{execute, ping, loopCall} {
				times[i] = append(times[i], timeCalls(b, f, n)...)
			}
		}
		report(b, times[0], times[1], times[2])
	})
	b.Run("workers=1/interleaved", func(b *testing.B) {
		var times [3][]time.Duration
		for i := range b.N + benchWarmup {
			for k, f := range []func(int) error{execute, ping, loopCall} {
				t0 := time.Now()
				if err := f(i); err != nil {
					b.Fatal(err)
				}
				if i >= benchWarmup {
					times[k] = append(times[k], time.Since(t0))
				}
			}
		}
		report(b, times[0], times[1], times[2])
	})
	b.Run("workers=1/back-to-back", func(b *testing.B) {
		timeCalls(b, execute, benchWarmup)
		cpu0 := cpuNow()
		calls := timeCalls(b, execute, b.N)
		reportCPU(b, cpu0, b.N)
		b.ReportMetric(mean(calls), "ns/op")
		reportLatency(b, "", calls)
	})
}

// BenchmarkExecuteParallel runs echo executes from 32 goroutines on pools of
// 1, 2 and 4 workers and reports calls/s and the latency under that load.
func BenchmarkExecuteParallel(b *testing.B) {
	for _, n := range []int{1, 2, 4} {
		eng := startBench(b, n)
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			ctx := context.Background()
			call := hooks.Call{AppPath: benchPath, Action: "echo", Args: []etf.Term{benchArg}}
			for range benchWarmup {
				if _, err := eng.Execute(ctx, call); err != nil {
					b.Fatal(err)
				}
			}
			lat := make([]time.Duration, b.N)
			var next atomic.Int64
			var failed atomic.Pointer[error]
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range benchCallers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
						t0 := time.Now()
						if _, err := eng.Execute(ctx, call); err != nil {
							failed.Store(&err)
							return
						}
						lat[i] = time.Since(t0)
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if err := failed.Load(); err != nil {
				b.Fatal(*err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
			reportLatency(b, "", lat)
		})
	}
}

// BenchmarkPythonToGo times Python → Go executes of the Go hook go.echo, as
// the worker's clock sees them, in batches of up to 1,000 calls inside one Go
// → Python call; each batch alternates with as many bare pipe ping-pongs, and
// x-pipe is the ratio of the p50s.
func BenchmarkPythonToGo(b *testing.B) {
	eng := startBench(b, 1)
	pipe := startPipe(b, "--bare")
	b.Run("workers=1", func(b *testing.B) {
		ctx := context.Background()
		frame := callFrame(b, hooks.Call{AppPath: "go.echo", Action: "echo", Args: []etf.Term{benchArg}})
		var goCPU time.Duration
		batch := func(n int) ([]time.Duration, []time.Duration) {
			cpu0 := cpuNow()
			v, err := eng.Execute(ctx, hooks.Call{AppPath: benchPath, Action: "call_go", Args: []etf.Term{int64(n), benchArg}})
			if err != nil {
				b.Fatal(err)
			}
			goCPU += cpuNow() - cpu0
			times, ok := etf.Elems(v)
			if !ok || len(times) != n {
				b.Fatalf("call_go(%d) returned %v", n, v)
			}
			calls := make([]time.Duration, n)
			for i, t := range times {
				calls[i] = time.Duration(t.(int64))
			}
			pings := make([]time.Duration, n)
			for i := range pings {
				t0 := time.Now()
				if err := pipe.ping(frame); err != nil {
					b.Fatal(err)
				}
				pings[i] = time.Since(t0)
			}
			return calls, pings
		}
		batch(benchWarmup)
		goCPU = 0
		b.ResetTimer()
		var calls, pings []time.Duration
		for left := b.N; left > 0; {
			n := min(left, 1000)
			c, p := batch(n)
			calls, pings = append(calls, c...), append(pings, p...)
			left -= n
		}
		b.StopTimer()
		b.ReportMetric(float64(goCPU)/float64(b.N)/float64(time.Microsecond), "go-cpu-us")
		b.ReportMetric(mean(calls), "ns/op")
		p50 := reportLatency(b, "", calls)
		pipeP50 := reportLatency(b, "pipe-", pings)
		b.ReportMetric(p50/pipeP50, "x-pipe")
	})
}

// BenchmarkStream streams a Python generator to Go with the default credit
// window, in streams of up to 10,000 chunks; each stream alternates with
// sequential executes that pull one item each (a round trip per chunk),
// 1 for every 20 chunks. It reports chunks/s, pulls/s and x-pull, their
// ratio; ns/op is the time per streamed chunk.
func BenchmarkStream(b *testing.B) {
	eng := startBench(b, 1)
	b.Run("default_window", func(b *testing.B) {
		ctx := context.Background()
		stream := func(n int) time.Duration {
			t0 := time.Now()
			s, err := eng.Stream(ctx, hooks.Call{AppPath: benchPath, Action: "count", Args: []etf.Term{int64(n)}})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			got := 0
			for {
				_, err := s.Next(ctx)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				got++
			}
			if got != n {
				b.Fatalf("streamed %d chunks; want %d", got, n)
			}
			return time.Since(t0)
		}
		pull := func(n int) time.Duration {
			t0 := time.Now()
			for i := range n {
				if _, err := eng.Execute(ctx, hooks.Call{AppPath: benchPath, Action: "echo", Args: []etf.Term{int64(i)}}); err != nil {
					b.Fatal(err)
				}
			}
			return time.Since(t0)
		}
		stream(1000)
		pull(benchWarmup)
		b.ResetTimer()
		var streamed, pulled int
		var streamTime, pullTime time.Duration
		for left := b.N; left > 0; {
			n := min(left, 10000)
			streamTime += stream(n)
			streamed += n
			k := max(1, n/20)
			pullTime += pull(k)
			pulled += k
			left -= n
		}
		b.StopTimer()
		chunkRate := float64(streamed) / streamTime.Seconds()
		pullRate := float64(pulled) / pullTime.Seconds()
		b.ReportMetric(float64(streamTime)/float64(streamed), "ns/op")
		b.ReportMetric(chunkRate, "chunks/s")
		b.ReportMetric(pullRate, "pulls/s")
		b.ReportMetric(chunkRate/pullRate, "x-pull")
	})
}
