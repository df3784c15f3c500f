//go:build hbtrace

package steptrace

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	_ "unsafe" // for go:linkname
)

// nanotime is the runtime's CLOCK_MONOTONIC reading, the clock Python's time.monotonic_ns and Erlang's
// os:perf_counter(nanosecond) read too.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// mark is one recorded step.
type mark struct {
	step Step
	at   int64
}

// capacity is how many marks are kept until the next dump; later ones are dropped.
const capacity = 1 << 20

var (
	marks = make([]mark, capacity)
	next  atomic.Int64
)

// Mark records step with the time.
func Mark(step Step) {
	if i := next.Add(1) - 1; i < capacity {
		marks[i] = mark{step, nanotime()}
	}
}

func init() {
	path := os.Getenv("HORNBEAM_TRACE_FILE")
	if path == "" {
		return
	}
	dump := make(chan os.Signal, 1)
	signal.Notify(dump, syscall.SIGUSR1)
	go func() {
		for range dump {
			if err := write(path); err != nil {
				fmt.Fprintln(os.Stderr, "steptrace:", err)
			}
		}
	}()
}

// write writes the marks so far to path and starts afresh.
func write(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, m := range marks[:min(next.Load(), capacity)] {
		fmt.Fprintf(w, "%c %d\n", m.step, m.at)
	}
	next.Store(0)
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
