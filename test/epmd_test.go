package test

import (
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A node that finds no EPMD starts the system one, as erl does, rather than serving one in its own process: the
// names registered with it, erl nodes' too, outlive the node.
func TestSystemEPMDOutlivesNode(t *testing.T) {
	l, err := net.Listen("tcp", "localhost:0")
	require.NoError(t, err)
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	t.Setenv("ERL_EPMD_PORT", port) // for the node, epmd -names and erl alike
	t.Cleanup(func() { _ = exec.Command("epmd", "-kill").Run() })

	h := startHornbeam(t)
	erlName := uniqueName("erl")
	erl := exec.Command("erl", "-noshell", "-sname", erlName, "-setcookie", cookie)
	require.NoError(t, erl.Start())
	t.Cleanup(func() {
		_ = erl.Process.Kill()
		_ = erl.Wait()
	})
	waitRegistered(t, erlName)

	h.stop()
	names, err := exec.Command("epmd", "-names").CombinedOutput()
	require.NoError(t, err, "EPMD stopped with the node: %s", names)
	short, _, _ := strings.Cut(h.name, "@")
	erlShort, _, _ := strings.Cut(erlName, "@")
	require.NotContains(t, string(names), "name "+short+" ")
	require.Contains(t, string(names), "name "+erlShort+" ")
}
