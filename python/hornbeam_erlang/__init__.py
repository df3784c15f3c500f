"""Hornbeam hooks for Python: register handlers, call hooks anywhere in the cluster.

Spec: docs/python.md

    from hornbeam_erlang import register_hook, execute

    register_hook('calc', lambda action, a, b: a + b)
    execute('calc', 'add', 1, 2)  # 3

The codec is ``hornbeam_erlang.etf`` (its ``Port`` is an Erlang port id; the
frame channel is ``hornbeam_erlang.port.Port``); the frame protocol lives in
``hornbeam_erlang.connection``; ``python3 -m hornbeam_erlang.worker`` runs a
worker for the node. Lifecycle hooks around the calls this process makes:
``use_hooks`` (client-level), ``with_hooks`` (per call), docs/lifecycle.md.
"""

from .api import (
    Caller,
    await_result,
    connection,
    execute,
    execute_async,
    register_hook,
    stream,
    stream_async,
    unregister_hook,
    use_hooks,
    with_hooks,
)
from .etf import Atom, BitString, Export, Fun, ImproperList, IncompleteData, Pid, Ref
from .hooks import HookError
from .lifecycle import cont, error, halt

__all__ = [
    "Atom",
    "Caller",
    "BitString",
    "Export",
    "Fun",
    "HookError",
    "ImproperList",
    "IncompleteData",
    "Pid",
    "Ref",
    "await_result",
    "connection",
    "cont",
    "error",
    "execute",
    "execute_async",
    "halt",
    "register_hook",
    "stream",
    "stream_async",
    "unregister_hook",
    "use_hooks",
    "with_hooks",
]
