// Package epmd starts the system EPMD, as erl does, so that the node names registered with it outlive the
// process that started it.
//
// ergo serves an embedded EPMD when it finds none, and that EPMD dies with the process that serves it: every
// node registered with it, erl nodes included, can then not be found by name until it registers again (erl
// nodes never do). A node calls Ensure before it registers, and test mains call it before their first node.
package epmd

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// readyWait bounds how long Ensure waits for a started EPMD to listen.
const readyWait = 5 * time.Second

// defaultPort is where EPMD listens unless ERL_EPMD_PORT says otherwise.
const defaultPort = 4369

// Port is where EPMD listens: ERL_EPMD_PORT when set to a port number, as for erl and epmd, else 4369.
func Port() uint16 {
	if p, err := strconv.ParseUint(os.Getenv("ERL_EPMD_PORT"), 10, 16); err == nil && p != 0 {
		return uint16(p)
	}
	return defaultPort
}

// Ensure starts the system EPMD (epmd -daemon) on Port unless something listens there already, and returns
// once something does; an error when epmd is not installed or does not come up within readyWait.
func Ensure() error {
	port := Port()
	if listening(port) {
		return nil
	}
	path, err := exec.LookPath("epmd")
	if err != nil {
		return fmt.Errorf("epmd: not installed: %w", err)
	}
	if out, err := exec.Command(path, "-daemon", "-port", strconv.Itoa(int(port))).CombinedOutput(); err != nil {
		return fmt.Errorf("epmd: %s -daemon: %w: %s", path, err, out)
	}
	deadline := time.Now().Add(readyWait)
	for !listening(port) {
		if time.Now().After(deadline) {
			return fmt.Errorf("epmd: %s -daemon does not listen on :%d after %v", path, port, readyWait)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// listening reports whether something accepts connections on port.
func listening(port uint16) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("localhost", strconv.Itoa(int(port))), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
