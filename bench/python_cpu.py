"""CPU time per call of the Python side of each hop, worker against baselines.

Usage: python3 bench/python_cpu.py [CALLS] [ROUNDS]   (defaults 5000 and 3)

Wall-clock latency on a shared machine moves with the load; the CPU time a
process spends per call moves far less. This script starts, on two pipes
each (fds 3 and 4, as the node does):

- ``worker``: ``python3 -m hornbeam_erlang.worker python_hooks:setup``, the
  real worker, called with ``{call, Id, <<"py.bench">>, <<"echo">>,
  [<<"hello">>], #{}}``;
- ``loop``: bench/python_erlport_like.py, erlport's loop shape with our
  codec, called with ``{'C', Id, '__main__', echo, [<<"hello">>]}``;
- ``bare``: the same script with ``--bare``, echoing frames undecoded;
- ``to_go``: the worker again, running ``call_go`` (CALLS executes to the
  node, which this script answers at once), against ``bare`` driven the
  same number of times: the Python side of a Python -> Go call.

A server's CPU time is the sum of ``/proc/PID/task/*/schedstat``'s time on
a CPU (every thread, user and system, in ns) before and after the timed
calls; this process plays the node with pre-encoded frames and also records
wall time per call (for ``to_go``, the worker's own clock). Prints one
``name unit value`` line per metric, medians over the rounds, which
alternate the servers.
"""

import fcntl
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_DIR = os.path.join(os.path.dirname(HERE), "python")
sys.path.insert(0, PYTHON_DIR)

from hornbeam_erlang import etf  # noqa: E402
from hornbeam_erlang.etf import Atom  # noqa: E402
from hornbeam_erlang.port import Port  # noqa: E402

WARMUP = 500
CALL = Atom("call")
REPLY = Atom("reply")
OK = Atom("ok")


def high(fd):
    """Move ``fd`` above 9, so that fds 3 and 4 are free for the child's channel."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class Server:
    """A python3 child with its frame channel on fds 3 and 4."""

    def __init__(self, args, env=None):
        to_r, to_w, from_r, from_w = (high(fd) for fd in os.pipe() + os.pipe())
        os.dup2(to_r, 3)
        os.dup2(from_w, 4)
        full_env = dict(os.environ, PYTHONPATH=PYTHON_DIR + os.pathsep + HERE, **(env or {}))
        self.proc = subprocess.Popen([sys.executable] + args, pass_fds=(3, 4), env=full_env)
        for fd in (3, 4, to_r, from_w):
            os.close(fd)
        self.port = Port(from_r, to_w)

    def close(self):
        self.port.close()
        self.proc.wait(10)


def worker():
    """Start the real worker and wait for its ready."""
    server = Server(["-m", "hornbeam_erlang.worker", "python_hooks:setup"],
                    {"HORNBEAM_PORT_FDS": "3,4"})
    while True:
        msg, _ = etf.decode(server.port.read_frame())
        if msg[0] == "register":
            server.port.write_frame(etf.encode((REPLY, msg[1], (OK, None))))
        elif msg[0] == "ready":
            return server


def cpu_ns(pid):
    """Return the time every thread of ``pid`` has spent on a CPU, in ns."""
    total = 0
    for task in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/schedstat" % (pid, task)) as f:
            total += int(f.read().split()[0])
    return total


def time_frames(port, frames):
    """Send each frame, wait for one frame back; return the wall times in ns."""
    clock = time.perf_counter_ns
    write, read = port.write_frame, port.read_frame
    times = []
    for frame in frames:
        t0 = clock()
        write(frame)
        read()
        times.append(clock() - t0)
    return times


def run_worker(n):
    """Time n echo calls served by the worker; return its CPU ns per call and the wall times."""
    server = worker()
    frames = [etf.encode((CALL, i, "py.bench", "echo", [b"hello"], {})) for i in range(n + WARMUP)]
    time_frames(server.port, frames[:WARMUP])
    cpu0 = cpu_ns(server.proc.pid)
    wall = time_frames(server.port, frames[WARMUP:])
    cpu = cpu_ns(server.proc.pid) - cpu0
    server.close()
    return cpu / n, wall


def run_loop(n, bare):
    """Time n calls of the erlport-shaped loop (or bare echoes); return CPU ns per call and wall times."""
    server = Server([os.path.join(HERE, "python_erlport_like.py")] + (["--bare"] if bare else []))
    frames = [etf.encode((Atom("C"), i, Atom("__main__"), Atom("echo"), [b"hello"]))
              for i in range(n + WARMUP)]
    time_frames(server.port, frames[:WARMUP])
    cpu0 = cpu_ns(server.proc.pid)
    wall = time_frames(server.port, frames[WARMUP:])
    cpu = cpu_ns(server.proc.pid) - cpu0
    server.close()
    return cpu / n, wall


def run_to_go(n):
    """The worker calls the node n times; this process replies to each execute at once."""
    server = worker()
    port = server.port
    cpu0 = cpu_ns(server.proc.pid)
    port.write_frame(etf.encode((CALL, 1, "py.bench", "call_go", [n, b"hello"], {})))
    while True:
        msg, _ = etf.decode(port.read_frame())
        if msg[0] == "reply":
            break
        port.write_frame(etf.encode((REPLY, msg[1], (OK, msg[4][0]))))
    cpu = cpu_ns(server.proc.pid) - cpu0
    server.close()
    return cpu / n, msg[2][1]


def main():
    """Run the rounds and print the medians."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    results = {}

    def add(name, cpu, wall):
        results.setdefault((name, "cpu_us"), []).append(cpu / 1000)
        wall = sorted(wall)
        results.setdefault((name, "p50_us"), []).append(wall[len(wall) // 2] / 1000)
        results.setdefault((name, "p99_us"), []).append(wall[int(len(wall) * 0.99)] / 1000)

    for _ in range(rounds):
        add("py_worker", *run_worker(n))
        add("py_loop", *run_loop(n, False))
        add("py_bare", *run_loop(n, True))
        add("py_to_go", *run_to_go(n))
    for (name, unit), values in sorted(results.items()):
        print("%s %s %.2f" % (name, unit, statistics.median(values)))


if __name__ == "__main__":
    main()
