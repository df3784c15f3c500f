package node

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hornbeam-go/hornbeam/hooks"
	"github.com/hornbeam-go/hornbeam/internal/epmd"
	"github.com/stretchr/testify/require"
)

const testCookie = "hornbeam_node_test"

var nodeSeq atomic.Int64

// TestMain starts the system EPMD first, so that no test node's embedded one (which dies with its process) serves
// the erl nodes.
func TestMain(m *testing.M) {
	if _, err := exec.LookPath("erl"); err == nil {
		if err := epmd.Ensure(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// uniqueName returns a short node name not used before in this test process.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s%d_%d@localhost", prefix, os.Getpid(), nodeSeq.Add(1))
}

// requireErl skips the test when erl is not installed.
func requireErl(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("erl"); err != nil {
		t.Skip("erl is not installed")
	}
}

// startNode starts a Go node for the test and stops it at cleanup.
func startNode(t testing.TB, e *hooks.Engine) *Node {
	t.Helper()
	n, err := Start(context.Background(), Options{Name: uniqueName("go"), Cookie: testCookie, Engine: e, Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(n.Stop)
	return n
}

// testLogger logs warnings and errors to t.Log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// erl is an erl node started for a test; its output is collected line by line.
type erl struct {
	name  string
	cmd   *exec.Cmd
	lines chan string // every line printed, in order; closed when erl exits
	done  chan struct{}

	mu  sync.Mutex
	out strings.Builder
}

// startErl runs `erl -eval script` as a distributed node with cookie and any further erl flags; the script
// sees the Go node's name bound to the variable Go. The node is killed at cleanup.
func startErl(t *testing.T, cookie, goNode, script string, flags ...string) *erl {
	t.Helper()
	name := uniqueName("e")
	eval := fmt.Sprintf("Go = '%s', %s", goNode, script)
	args := append([]string{"-sname", name, "-setcookie", cookie, "-noshell", "-noinput"}, flags...)
	cmd := exec.Command("erl", append(args, "-eval", eval)...)
	cmd.Env = append(os.Environ(), "ERL_CRASH_DUMP_SECONDS=0")
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	require.NoError(t, cmd.Start())
	e := &erl{name: name, cmd: cmd, lines: make(chan string, 1024), done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = pw.Close()
	}()
	go func() {
		defer close(e.done)
		defer close(e.lines)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			e.mu.Lock()
			e.out.WriteString(sc.Text() + "\n")
			e.mu.Unlock()
			select {
			case e.lines <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-e.done
	})
	return e
}

// output returns everything erl printed so far.
func (e *erl) output() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.out.String()
}

// waitLine waits for a line equal to want.
func (e *erl) waitLine(t *testing.T, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-e.lines:
			if !ok {
				t.Fatalf("erl exited before printing %q; output:\n%s", want, e.output())
			}
			if strings.TrimSpace(l) == want {
				return
			}
		case <-deadline:
			t.Fatalf("erl did not print %q within %v; output:\n%s", want, timeout, e.output())
		}
	}
}

// wait waits for erl to exit and returns its output.
func (e *erl) wait(t *testing.T, timeout time.Duration) string {
	t.Helper()
	select {
	case <-e.done:
	case <-time.After(timeout):
		_ = e.cmd.Process.Kill()
		<-e.done
		t.Fatalf("erl did not halt within %v; output:\n%s", timeout, e.output())
	}
	return e.output()
}

// runErl runs script on a fresh erl node and returns what it printed once it halts, failing after timeout.
func runErl(t *testing.T, cookie, goNode, script string, timeout time.Duration) string {
	t.Helper()
	return startErl(t, cookie, goNode, script+", halt().").wait(t, timeout)
}
