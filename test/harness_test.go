// Package test holds the end-to-end tests: the hornbeam binary, real erl nodes
// and real python3 processes, nothing faked.
package test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hornbeam-go/hornbeam/internal/epmd"
	"github.com/stretchr/testify/require"
)

const cookie = "hornbeam_e2e"

var (
	binary  string
	nodeSeq atomic.Int64
)

// TestMain builds the hornbeam binary (or takes HORNBEAM_BIN) and starts the
// system EPMD, so that no Go node's embedded one, which dies with it, serves
// the erl nodes.
func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

// runTests is TestMain's body, so that its deferred clean-up runs before the exit.
func runTests(m *testing.M) int {
	if _, err := exec.LookPath("erl"); err != nil {
		fmt.Fprintln(os.Stderr, "test: erl is not installed; run `make test`, which installs it")
		return 1
	}
	if err := epmd.Ensure(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	binary = os.Getenv("HORNBEAM_BIN")
	if binary == "" {
		dir, err := os.MkdirTemp("", "hornbeam-e2e")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binary = filepath.Join(dir, "hornbeam")
		build := exec.Command("go", "build", "-o", binary, "../cmd/hornbeam")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "test: building hornbeam:", err)
			return 1
		}
	}
	return m.Run()
}

// uniqueName returns a short node name not used before in this test process.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s%d_%d@localhost", prefix, os.Getpid(), nodeSeq.Add(1))
}

// hornbeam is one running hornbeam binary.
type hornbeam struct {
	name string
	cmd  *exec.Cmd
	log  *syncBuffer
}

// syncBuffer is a bytes.Buffer safe to write from a process's output copier
// while a test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startHornbeam runs the binary as a node with extra flags, waits until EPMD
// knows it, and stops it at cleanup.
func startHornbeam(t *testing.T, flags ...string) *hornbeam {
	t.Helper()
	return startHornbeamNamed(t, uniqueName("hb"), flags...)
}

// startHornbeamNamed is startHornbeam with the node's name, name@host, given.
func startHornbeamNamed(t *testing.T, name string, flags ...string) *hornbeam {
	t.Helper()
	h := &hornbeam{name: name, log: &syncBuffer{}}
	args := append([]string{"--sname", h.name, "--cookie", cookie, "--log-level", "debug"}, flags...)
	h.cmd = exec.Command(binary, args...)
	h.cmd.Stdout, h.cmd.Stderr = h.log, h.log
	require.NoError(t, h.cmd.Start())
	t.Cleanup(func() {
		h.stop()
		if t.Failed() {
			t.Logf("hornbeam log:\n%s", h.log.String())
		}
	})
	waitRegistered(t, h.name)
	return h
}

// stop ends the node as an operator would, with SIGTERM, so that it cleans up
// after itself (its Python workers and their unpacked package); it kills the
// node if it is still running 5 s later.
func (h *hornbeam) stop() {
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		_ = h.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = h.cmd.Process.Kill()
		<-done
	}
}

// waitRegistered polls EPMD until it knows the node, for at most 10 s.
func waitRegistered(t *testing.T, name string) {
	t.Helper()
	short, _, _ := strings.Cut(name, "@")
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		out, _ := exec.Command("epmd", "-names").Output()
		if bytes.Contains(out, []byte("name "+short+" at")) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("node %s did not register with EPMD within 10 s", name)
}

// erlEval runs an Erlang expression sequence on a fresh erl node (with the
// modules in erlDirs on its code path) and returns what it printed. The
// expressions see the Go node's name as the atom bound to Go.
func erlEval(t *testing.T, goNode, code string, erlDirs ...string) string {
	t.Helper()
	args := []string{"-noshell", "-sname", uniqueName("erl"), "-setcookie", cookie}
	for _, d := range erlDirs {
		args = append(args, "-pa", d)
	}
	script := fmt.Sprintf("Go = '%s', %s, init:stop().", goNode, strings.TrimRight(strings.TrimSpace(code), "."))
	args = append(args, "-eval", script)
	cmd := exec.Command("erl", args...)
	out, err := runWithTimeout(cmd, 60*time.Second)
	require.NoError(t, err, "erl said:\n%s", out)
	return string(out)
}

// runWithTimeout runs cmd and kills it after d.
func runWithTimeout(cmd *exec.Cmd, d time.Duration) ([]byte, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.Bytes(), err
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		return out.Bytes(), fmt.Errorf("test: %s still running after %s", cmd.Path, d)
	}
}
