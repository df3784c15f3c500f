"""Tests of ``python3 -m hornbeam_erlang.worker`` as a real process on fds given by the node."""

import os
import subprocess
import sys
import time
import unittest
from typing import Any

from hornbeam_erlang.etf import Atom
from hornbeam_erlang.port import Port
from tests.fake_node import FakeNode

OK = Atom("ok")
PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class TestWorker(unittest.TestCase):
    """One worker process per test, driven by a FakeNode over two pipes."""

    def setUp(self) -> None:
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        env = dict(os.environ, HORNBEAM_PORT_FDS="%d,%d" % (to_worker_r, from_worker_w),
                   PYTHONPATH=PYTHON_DIR)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hornbeam_erlang.worker", "tests.sample_worker:setup"],
            pass_fds=(to_worker_r, from_worker_w), env=env, cwd=PYTHON_DIR,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.close(to_worker_r)
        os.close(from_worker_w)
        self.to_worker_w = to_worker_w
        self.node = FakeNode(Port(from_worker_r, to_worker_w))
        self.addCleanup(self._stop)

    def _stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)
        self.proc.stdout.close()  # type: ignore[union-attr]
        self.proc.stderr.close()  # type: ignore[union-attr]
        self.node.port.close()

    def start(self) -> Any:
        hello = self.node.hello.result(10)
        self.assertTrue(self.node.ready.wait(10))
        return hello

    def test_hello_register_call(self) -> None:
        hello = self.start()
        self.assertEqual(hello, (Atom("hello"), 1, self.proc.pid))
        self.assertEqual(self.node.registered["sample"][0], Atom("class"))
        self.assertEqual(self.node.call("sample", "echo", [[1, "two"]], {}), (OK, [1, "two"]))
        self.assertEqual(self.node.call("sample", "pid", [], {}), (OK, self.proc.pid))
        probe = self.node.stream("sample", "count", [5], {}, 64)
        probe.end.result(5)
        self.assertEqual(probe.chunks, [0, 1, 2, 3, 4])

    def test_reentrant_through_the_node(self) -> None:
        self.start()
        got = self.node.call("sample", "via_node", ["sample", "echo", "x"], {})
        self.assertEqual(got, (OK, "x"))

    def test_exits_on_eof(self) -> None:
        self.start()
        self.node.call_async("sample", "sleep", [30], {})
        time.sleep(0.1)
        started = time.monotonic()
        os.close(self.to_worker_w)
        self.assertEqual(self.proc.wait(5), 0)
        self.assertLess(time.monotonic() - started, 2)

    def test_bad_module(self) -> None:
        env = dict(os.environ, HORNBEAM_PORT_FDS="0,1", PYTHONPATH=PYTHON_DIR)
        proc = subprocess.run(
            [sys.executable, "-m", "hornbeam_erlang.worker", "tests.no_such_module"],
            env=env, cwd=PYTHON_DIR, stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"ModuleNotFoundError", proc.stderr)


if __name__ == "__main__":
    unittest.main()
