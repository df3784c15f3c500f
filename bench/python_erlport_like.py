"""The Python side of the erlport-like baseline of bench/python.sh.

A single-threaded loop in erlport's shape: read one {packet,4} frame from
fd 3, decode it with hornbeam_erlang.etf, look the function up, call it,
encode the reply, write it to fd 4, repeat. Calls are ``{'C', Id, Module,
Function, Args}`` and replies ``{'r', Id, Result}``, as in erlport.

``--bare`` echoes each frame as it came, without decoding: the floor of a
port call from Erlang.
"""

import importlib
import os
import sys

from hornbeam_erlang import etf
from hornbeam_erlang.etf import Atom

REPLY = Atom("r")


def echo(x):
    """Return the argument: the function the baseline calls."""
    return x


def read_exact(n):
    """Read n bytes from fd 3; exit at the end of input."""
    buf = b""
    while len(buf) < n:
        part = os.read(3, n - len(buf))
        if not part:
            raise SystemExit(0)
        buf += part
    return buf


def serve():
    """Answer calls until the port closes."""
    while True:
        frame = read_exact(int.from_bytes(read_exact(4), "big"))
        (_, mid, module, function, args), _ = etf.decode(frame)
        target = getattr(sys.modules.get(module) or importlib.import_module(module), function)
        data = etf.encode((REPLY, mid, target(*args)))
        os.write(4, len(data).to_bytes(4, "big") + data)


def bare():
    """Echo frames until the port closes."""
    while True:
        head = read_exact(4)
        os.write(4, head + read_exact(int.from_bytes(head, "big")))


if __name__ == "__main__":
    bare() if sys.argv[1:] == ["--bare"] else serve()
