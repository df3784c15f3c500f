package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPythonCallerHooks runs testdata/python/caller_hooks.py attached to the
// binary's socket: a Python caller's lifecycle hooks (use_hooks, with_hooks)
// around calls and streams of the demo hooks, through the real node.
func TestPythonCallerHooks(t *testing.T) {
	py := pythonBin(t)
	sock := filepath.Join(t.TempDir(), "hb.sock")
	startHornbeam(t, "--python-socket", sock)
	repoPython, err := filepath.Abs("../python")
	require.NoError(t, err)
	cmd := exec.Command(py, filepath.Join(testdataPython(t), "caller_hooks.py"))
	cmd.Env = append(os.Environ(), "HORNBEAM_SOCKET="+sock, "PYTHONPATH="+repoPython)
	out, err := runWithTimeout(cmd, 60*time.Second)
	require.NoError(t, err, "caller_hooks.py said:\n%s", out)
	require.Contains(t, string(out), "all checks passed")
}
