"""Profile the Python side of bench/python.sh's calls and streams with cProfile.

Usage: PYTHONPATH=python python3 bench/python_profile.py call|stream [N]

This process serves the hook py.bench through hornbeam_erlang's Connection,
as a worker does; a forked child plays the node over a socketpair with the
frames the Go node sends (N echo calls one at a time, or one stream of N
chunks with credit granted half a window at a time). Every thread of this
process runs under its own cProfile.Profile; the merged profile prints
sorted by own time, with the wall time per call or chunk.
"""

import cProfile
import os
import pstats
import socket
import sys
import threading
import time

from hornbeam_erlang import etf
from hornbeam_erlang.connection import Connection
from hornbeam_erlang.etf import Atom
from hornbeam_erlang.hooks import Hook, Registry
from hornbeam_erlang.port import Port

WINDOW = 64
profiles = []


def profiled_run(run):
    """Wrap Thread.run so that each thread records into its own profile."""
    def wrapper(self):
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.enable()
        try:
            run(self)
        finally:
            profile.disable()
    return wrapper


class Bench:
    """The actions of bench/python.sh's worker module."""

    def echo(self, x):
        return x

    def count(self, n):
        yield from range(n)


def node(sock, mode, n):
    """Play the node: send the calls or the stream request, read to the end."""
    port = Port.from_socket(sock)
    hello, _ = etf.decode(port.read_frame())
    assert hello[0] == "hello", hello
    t0 = time.perf_counter()
    if mode == "call":
        for i in range(1, n + 1):
            port.write_frame(etf.encode((Atom("call"), i, "py.bench", "echo", [b"hello"], {})))
            reply, _ = etf.decode(port.read_frame())
            assert reply[1] == i, reply
    else:
        port.write_frame(etf.encode((Atom("stream"), 1, "py.bench", "count", [n], {}, WINDOW)))
        got = unacked = 0
        while True:
            msg, _ = etf.decode(port.read_frame())
            if msg[0] == "done":
                break
            k = len(msg[2]) if msg[0] == "chunks" else 1
            got, unacked = got + k, unacked + k
            if unacked >= WINDOW // 2:
                port.write_frame(etf.encode((Atom("credit"), 1, unacked)))
                unacked = 0
        assert got == n, got
    elapsed = time.perf_counter() - t0
    print("%s: %d in %.3f s, %.2f us each" % (mode, n, elapsed, elapsed / n * 1e6), file=sys.stderr)


def main():
    mode = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    ours, theirs = socket.socketpair()
    if os.fork() == 0:
        ours.close()
        node(theirs, mode, n)
        theirs.close()
        os._exit(0)
    theirs.close()
    threading.Thread.run = profiled_run(threading.Thread.run)
    registry = Registry()
    registry.add(Hook("py.bench", Bench))
    conn = Connection(Port.from_socket(ours), registry)
    conn.start()
    conn.wait_closed()
    os.wait()
    stats = pstats.Stats(profiles[0])
    for profile in profiles[1:]:
        stats.add(profile)
    stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
