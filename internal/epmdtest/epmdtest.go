// Package epmdtest starts the system EPMD for tests that run Go and erl nodes side by side.
//
// A Go node that finds no EPMD on :4369 serves an embedded one, which dies with that node; the nodes registered
// with it cannot be resolved until they re-register, seconds later. Tests that start and stop many nodes call
// Start first, so that every node registers with the system EPMD instead.
package epmdtest

import (
	"fmt"
	"net"
	"os/exec"
	"time"
)

// readyWait bounds how long Start waits for EPMD to listen.
const readyWait = 10 * time.Second

// Start starts the system EPMD (epmd -daemon) unless one is running, and returns once it accepts connections.
func Start() error {
	if listening() {
		return nil
	}
	if out, err := exec.Command("epmd", "-daemon").CombinedOutput(); err != nil {
		return fmt.Errorf("epmdtest: epmd -daemon: %w: %s", err, out)
	}
	deadline := time.Now().Add(readyWait)
	for !listening() {
		if time.Now().After(deadline) {
			return fmt.Errorf("epmdtest: epmd does not listen on :4369 after %v", readyWait)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// listening reports whether something accepts connections on EPMD's port.
func listening() bool {
	c, err := net.DialTimeout("tcp", "localhost:4369", time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
