"""The README's Python snippet, verbatim, against the node `make demo` runs.

Needs the hornbeam binary: ``$HORNBEAM_BIN``, else ``bin/hornbeam`` in the
repository (``make test-python`` builds it); skipped without one.
"""

import os
import re
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(PYTHON_DIR)

RUN_SNIPPET = r'''
import ast, sys
source = sys.stdin.read()
lines = source.splitlines()
scope = {}
for node in ast.parse(source).body:
    code = ast.get_source_segment(source, node)
    comment = lines[node.end_lineno - 1].partition("  # ")[2]
    if isinstance(node, ast.Expr):
        got = eval(compile(ast.Expression(node.value), "<README>", "eval"), scope)
        if comment and got != ast.literal_eval(comment):
            sys.exit("%s gave %r; the README says %s" % (code, got, comment))
    else:
        exec(compile(ast.Module([node], []), "<README>", "exec"), scope)
print("ran", len(lines), "lines")
'''
"""Runs the snippet on stdin statement by statement, checking each ``expression  # value``."""


def python_snippets(readme: str) -> list:
    """Return the ```python blocks of the README."""
    return re.findall(r"```python\n(.*?)```", readme, re.S)


def hornbeam_binary() -> str:
    """Return the hornbeam binary to run, or '' if there is none."""
    path = os.environ.get("HORNBEAM_BIN") or os.path.join(REPO, "bin", "hornbeam")
    return path if os.access(path, os.X_OK) else ""


class TestReadme(unittest.TestCase):
    """A node with the demo hooks and the Python socket, as `make demo` starts it."""

    def setUp(self) -> None:
        binary = hornbeam_binary()
        if not binary:
            self.skipTest("no hornbeam binary: run `make build` or set HORNBEAM_BIN")
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.tmpdir = tmp.name
        self.socket = os.path.join(tmp.name, "hornbeam-%d.sock" % os.getuid())
        name = "readme_%s@localhost" % uuid.uuid4().hex[:8]
        self.log = open(os.path.join(tmp.name, "hornbeam.log"), "w+")
        self.addCleanup(self.log.close)
        self.node = subprocess.Popen(
            [binary, "--sname", name, "--cookie", "hornbeam_readme", "--log-level", "warn",
             "--python-socket", self.socket], stdout=self.log, stderr=subprocess.STDOUT)
        self.addCleanup(self._stop)
        deadline = time.monotonic() + 20
        while not os.path.exists(self.socket):
            if self.node.poll() is not None or time.monotonic() > deadline:
                self.log.seek(0)
                self.fail("hornbeam did not open %s:\n%s" % (self.socket, self.log.read()))
            time.sleep(0.05)

    def _stop(self) -> None:
        self.node.terminate()
        try:
            self.node.wait(10)
        except subprocess.TimeoutExpired:
            self.node.kill()
            self.node.wait()

    def test_python_snippets(self) -> None:
        with open(os.path.join(REPO, "README.md")) as f:
            snippets = python_snippets(f.read())
        self.assertTrue(snippets, "README.md has no ```python block")
        env = {k: v for k, v in os.environ.items() if not k.startswith("HORNBEAM_")}
        env.update(PYTHONPATH=PYTHON_DIR, TMPDIR=self.tmpdir)
        for snippet in snippets:
            with self.subTest(snippet=snippet):
                run = subprocess.run([sys.executable, "-c", RUN_SNIPPET], input=snippet, env=env,
                                     cwd=REPO, capture_output=True, text=True, timeout=30)
                self.assertEqual(run.returncode, 0, run.stderr)


if __name__ == "__main__":
    unittest.main()
