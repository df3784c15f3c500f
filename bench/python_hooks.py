"""The hook py.bench that bench/python.sh and python/bench_test.go measure.

Run by hornbeam's Python workers: ``--python python_hooks:setup``.
"""

import time

from hornbeam_erlang import execute, register_hook


class Bench:
    """Echo, a generator, and a loop of Python -> Go calls."""

    def echo(self, x):
        return x

    def count(self, n):
        yield from range(n)

    def call_go(self, n, x):
        """Call the Go hook go.echo n times; return each call's time in ns."""
        clock = time.perf_counter_ns
        times = []
        for _ in range(n):
            t0 = clock()
            execute("go.echo", "echo", x)
            times.append(clock() - t0)
        return times


def setup():
    """Register py.bench."""
    register_hook("py.bench", Bench)
