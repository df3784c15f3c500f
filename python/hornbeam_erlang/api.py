"""The hooks API of a Python process: register, execute, stream.

Spec: docs/python.md ("Modes")

The process finds the node once, on first use:

- ``HORNBEAM_PORT_FDS=3,4`` (set by the node for its workers): frames on
  fds 3 (node to Python) and 4 (Python to node);
- ``HORNBEAM_SOCKET=/path``: frames over that Unix socket (attach mode,
  for a process the node did not start, such as ``uvicorn app:app``);
- neither: local mode. Hooks registered here are called here, in-process;
  no node is involved.

With a node, every call goes through it, also calls to hooks of this very
process, so the node's interceptors and routing apply.
"""

import asyncio
import os
import secrets
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, AsyncIterator, Dict, Iterator, Optional

from .connection import DEFAULT_WINDOW, Connection
from .etf import Atom
from .hooks import ERROR, Hook, HookError, Registry, error_term, is_stream, outcome, result_outcome
from .port import Port

__all__ = [
    "await_result",
    "connection",
    "execute",
    "execute_async",
    "register_hook",
    "registry",
    "stream",
    "stream_async",
    "unregister_hook",
    "use_connection",
]

TIMEOUT = Atom("timeout")
TASK_NOT_FOUND = Atom("task_not_found")

registry = Registry()
"""The hooks this process registered; the node's calls are served from it."""

_lock = threading.Lock()
_connection: Optional[Connection] = None
_resolved = False
_tasks: Dict[str, "Future[Any]"] = {}


def _open() -> Optional[Connection]:
    fds = os.environ.get("HORNBEAM_PORT_FDS")
    path = os.environ.get("HORNBEAM_SOCKET")
    if fds:
        read_fd, write_fd = (int(fd) for fd in fds.split(","))
        port = Port(read_fd, write_fd)
    elif path:
        port = Port.connect_unix(path)
    else:
        return None
    conn = Connection(port, registry)
    conn.start()
    return conn


def connection() -> Optional[Connection]:
    """Return this process's connection to the node, opening it on first use.

    Returns None in local mode (no ``HORNBEAM_PORT_FDS``, no
    ``HORNBEAM_SOCKET``). Raises ``OSError`` if the socket cannot be reached.
    """
    global _connection, _resolved
    if _resolved:
        return _connection
    with _lock:
        if not _resolved:
            _connection = _open()
            _resolved = True
    return _connection


def use_connection(conn: Optional[Connection]) -> None:
    """Make ``conn`` this process's connection (None: local mode); for tests and embedders."""
    global _connection, _resolved
    with _lock:
        _connection = conn
        _resolved = True


def register_hook(app_path: str, handler: Any) -> None:
    """Register ``handler`` (a function, class or instance) under ``app_path``.

    A class is instantiated here, once. With a node, the node learns that
    this process serves ``app_path``; ``HookError`` if it refuses.
    """
    hook = Hook(app_path, handler)
    registry.add(hook)
    conn = connection()
    if conn is not None:
        try:
            conn.register(hook)
        except HookError:
            registry.remove(app_path)
            raise


def unregister_hook(app_path: str) -> None:
    """Remove the hook of ``app_path`` from this process (and from the node)."""
    registry.remove(app_path)
    conn = connection()
    if conn is not None:
        conn.unregister(app_path)


def _run_local(app_path: str, action: str, args: Any, kwargs: Dict[str, Any]) -> Any:
    value = registry.get(app_path).call(action, args, kwargs)
    if is_stream(value):
        return list(value)
    return value


def execute(app_path: str, action: str, /, *args: Any, **kwargs: Any) -> Any:
    """Call ``action`` of the hook at ``app_path``; return its value.

    Raises ``HookError`` when the call fails: ``e.reason`` is the Erlang
    error term, e.g. ``(Atom('not_found'), 'app')`` or ``(Atom('python'),
    'ValueError', 'message', 'traceback')``.
    """
    conn = connection()
    if conn is not None:
        return conn.execute(app_path, action, list(args), kwargs)
    status, value = outcome(_run_local, app_path, action, args, kwargs)
    if status is ERROR:
        raise HookError(value)
    return value


def execute_async(app_path: str, action: str, /, *args: Any, **kwargs: Any) -> Any:
    """Start ``action`` of the hook at ``app_path``; return a task id for ``await_result``."""
    conn = connection()
    if conn is not None:
        return conn.execute_async(app_path, action, list(args), kwargs)
    future: "Future[Any]" = Future()

    def run() -> None:
        future.set_result(outcome(_run_local, app_path, action, args, kwargs))
    task_id = secrets.token_hex(16)
    _tasks[task_id] = future
    threading.Thread(target=run, name="hornbeam-task", daemon=True).start()
    return task_id


def await_result(task_id: Any, timeout_ms: int = 30000) -> Any:
    """Wait up to ``timeout_ms`` for the value of an ``execute_async`` task.

    Raises ``HookError`` with reason ``timeout`` when the task is not done in
    time (the result stays available for a later call), or the task's error.
    """
    conn = connection()
    if conn is not None:
        return conn.await_result(task_id, timeout_ms)
    future = _tasks.get(task_id)
    if future is None:
        raise HookError(TASK_NOT_FOUND, task_id)
    try:
        status, value = future.result(timeout=timeout_ms / 1000)
    except FutureTimeout:
        raise HookError(TIMEOUT) from None
    if status is ERROR:
        raise HookError(value)
    return value


def _local_stream(app_path: str, action: str, args: Any, kwargs: Dict[str, Any]) -> Iterator[Any]:
    try:
        value = registry.get(app_path).call(action, args, kwargs)
    except Exception as exc:
        raise HookError(error_term(exc)) from exc
    if not is_stream(value):
        value = iter((value,))
    return value  # type: ignore[no-any-return]


def stream(app_path: str, action: str, /, *args: Any, **kwargs: Any) -> Iterator[Any]:
    """Yield the chunks the hook's ``action`` streams; a generator.

    Closing the generator early (``break`` in a ``for`` loop, ``close()``)
    tells the producer to stop. A handler that returns a plain value
    streams that one value. Errors raise ``HookError``; so does a chunk
    ``(Atom('error'), R)``, which ends the stream (the result rule).
    """
    conn = connection()
    if conn is not None:
        yield from conn.stream(app_path, action, list(args), kwargs, DEFAULT_WINDOW)
        return
    chunks = _local_stream(app_path, action, args, kwargs)
    try:
        for chunk in chunks:
            status, value = result_outcome(chunk)
            if status is ERROR:
                raise HookError(value)
            yield value
    except HookError:
        raise
    except Exception as exc:
        raise HookError(error_term(exc)) from exc
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


async def stream_async(app_path: str, action: str, /, *args: Any,
                       **kwargs: Any) -> AsyncIterator[Any]:
    """Like ``stream``, as an async generator that never blocks the event loop."""
    conn = connection()
    if conn is not None:
        remote = conn.stream_async(app_path, action, list(args), kwargs, DEFAULT_WINDOW)
        try:
            async for chunk in remote:
                yield chunk
        finally:
            await remote.aclose()
        return
    loop = asyncio.get_running_loop()
    chunks = stream(app_path, action, *args, **kwargs)
    end = object()
    try:
        while True:
            chunk = await loop.run_in_executor(None, next, chunks, end)
            if chunk is end:
                return
            yield chunk
    finally:
        await loop.run_in_executor(None, chunks.close)
