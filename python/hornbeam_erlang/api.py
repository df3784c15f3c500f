"""The hooks API of a Python process: register, execute, stream.

Spec: docs/python.md ("Modes")

The process finds the node once, on first use:

- ``HORNBEAM_PORT_FDS=3,4`` (set by the node for its workers): frames on
  fds 3 (node to Python) and 4 (Python to node);
- ``HORNBEAM_SOCKET=/path``: frames over that Unix socket (attach mode,
  for a process the node did not start, such as ``uvicorn app:app``);
- neither: the default socket ``$TMPDIR/hornbeam-UID.sock`` if a node
  listens there (``make demo``'s), else local mode. Hooks registered here
  are called here, in-process; a call to any other app path fails with
  ``{no_node, Message}``.

With a node, every call goes through it, also calls to hooks of this very
process, so the node's interceptors and routing apply.

Lifecycle hooks (docs/lifecycle.md, ``lifecycle``) run in the calling
thread around ``execute``, ``execute_async``/``await_result``, ``stream``
and ``stream_async``: the client-level ones of ``use_hooks``, then the
per-call ones of a ``with_hooks`` caller.
"""

import asyncio
import secrets
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, AsyncIterator, Dict, Iterator, List, Optional, Sequence

from .connection import DEFAULT_WINDOW, Connection, attach, unattached_error
from . import lifecycle
from .etf import Atom
from .hooks import ERROR, Hook, HookError, Registry, error_term, is_stream, outcome, result_outcome

__all__ = [
    "Caller",
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
    "use_hooks",
    "with_hooks",
]

TIMEOUT = Atom("timeout")
TASK_NOT_FOUND = Atom("task_not_found")

registry = Registry()
"""The hooks this process registered; the node's calls are served from it."""

_lock = threading.Lock()
_connection: Optional[Connection] = None
_resolved = False
_tasks: Dict[str, "Future[Any]"] = {}
_client_hooks: List[Any] = []


def connection() -> Optional[Connection]:
    """Return this process's connection to the node, opening it on first use.

    Returns None in local mode (no ``HORNBEAM_PORT_FDS``, no
    ``HORNBEAM_SOCKET``, no node at ``connection.default_socket()``).
    Raises ``OSError`` if ``HORNBEAM_SOCKET`` cannot be reached.
    """
    global _connection, _resolved
    if _resolved:
        return _connection
    with _lock:
        if not _resolved:
            _connection = attach(registry)
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


def _local_hook(app_path: str) -> Hook:
    """Return the hook registered here under app_path, or raise ``{no_node, Message}``."""
    try:
        return registry.get(app_path)
    except HookError:
        raise unattached_error(app_path) from None


def _run_local(app_path: str, action: str, args: Any, kwargs: Dict[str, Any]) -> Any:
    value = _local_hook(app_path).call(action, args, kwargs)
    if is_stream(value):
        return list(value)
    return value


def use_hooks(hooks: Sequence[Any]) -> List[Any]:
    """Make ``hooks`` the client-level lifecycle hooks of this process; return the previous list.

    They run, in order, around every call this process makes, before the
    per-call hooks of ``with_hooks``. ``use_hooks([])`` removes them.
    ``TypeError`` unless ``hooks`` is a list or tuple of hook objects.
    """
    global _client_hooks
    hooks = lifecycle.check_hooks(hooks)
    with _lock:
        previous, _client_hooks = _client_hooks, hooks
    return previous


def with_hooks(*hooks: Any, **context: Any) -> "Caller":
    """Return a ``Caller`` whose calls run ``hooks`` after the client-level ones.

    Each call gets its own copy of ``context`` as the hooks' context dict.
    The per-call hooks ride on this object, not on the call's keyword
    arguments, so no handler keyword is taken (docs/lifecycle.md).
    """
    return Caller(lifecycle.check_hooks(hooks), context)


class Caller:
    """The hooks API with per-call lifecycle hooks; made by ``with_hooks``."""

    __slots__ = ("hooks", "context")

    def __init__(self, hooks: List[Any], context: Dict[str, Any]) -> None:
        self.hooks = hooks
        self.context = context

    def execute(self, app_path: str, action: str, /, *args: Any, **kwargs: Any) -> Any:
        """``execute`` with this caller's hooks."""
        return lifecycle.execute(_client_hooks + self.hooks, self.context, app_path, action, args,
                                 kwargs, _execute)

    def execute_async(self, app_path: str, action: str, /, *args: Any, **kwargs: Any) -> Any:
        """``execute_async`` with this caller's hooks; ``await_result`` runs their end callbacks."""
        return lifecycle.execute_async(_client_hooks + self.hooks, self.context, app_path, action,
                                       args, kwargs, _execute_async)

    def await_result(self, task_id: Any, timeout_ms: int = 30000) -> Any:
        """``await_result``: the hooks a task was started with run, whoever awaits it."""
        return await_result(task_id, timeout_ms)

    def stream(self, app_path: str, action: str, /, *args: Any, **kwargs: Any) -> Iterator[Any]:
        """``stream`` with this caller's hooks."""
        return lifecycle.stream(_client_hooks + self.hooks, self.context, app_path, action, args,
                                kwargs, _stream)

    def stream_async(self, app_path: str, action: str, /, *args: Any,
                     **kwargs: Any) -> AsyncIterator[Any]:
        """``stream_async`` with this caller's hooks."""
        return lifecycle.stream_async(_client_hooks + self.hooks, self.context, app_path, action,
                                      args, kwargs, _stream_async)


def execute(app_path: str, action: str, /, *args: Any, **kwargs: Any) -> Any:
    """Call ``action`` of the hook at ``app_path``; return its value.

    Raises ``HookError`` when the call fails: ``e.reason`` is the Erlang
    error term, e.g. ``(Atom('not_found'), 'app')`` or ``(Atom('python'),
    'ValueError', 'message', 'traceback')``.
    """
    return lifecycle.execute(_client_hooks, {}, app_path, action, args, kwargs, _execute)


def _execute(app_path: str, action: str, args: Any, kwargs: Dict[str, Any]) -> Any:
    conn = connection()
    if conn is not None:
        return conn.execute(app_path, action, list(args), kwargs)
    status, value = outcome(_run_local, app_path, action, args, kwargs)
    if status is ERROR:
        raise HookError(value)
    return value


def execute_async(app_path: str, action: str, /, *args: Any, **kwargs: Any) -> Any:
    """Start ``action`` of the hook at ``app_path``; return a task id for ``await_result``."""
    return lifecycle.execute_async(_client_hooks, {}, app_path, action, args, kwargs, _execute_async)


def _execute_async(app_path: str, action: str, args: Any, kwargs: Dict[str, Any]) -> Any:
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
    return lifecycle.await_result(task_id, timeout_ms, _await_result)


def _await_result(task_id: Any, timeout_ms: int) -> Any:
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
        value = _local_hook(app_path).call(action, args, kwargs)
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
    return lifecycle.stream(_client_hooks, {}, app_path, action, args, kwargs, _stream)


def _stream(app_path: str, action: str, args: Any, kwargs: Dict[str, Any]) -> Iterator[Any]:
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


def stream_async(app_path: str, action: str, /, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
    """Like ``stream``, as an async generator that never blocks the event loop."""
    return lifecycle.stream_async(_client_hooks, {}, app_path, action, args, kwargs, _stream_async)


def _stream_async(app_path: str, action: str, args: Any, kwargs: Dict[str, Any]) -> AsyncIterator[Any]:
    conn = connection()
    if conn is not None:
        return conn.stream_async(app_path, action, list(args), kwargs, DEFAULT_WINDOW)
    return _local_stream_async(app_path, action, args, kwargs)


async def _local_stream_async(app_path: str, action: str, args: Any,
                              kwargs: Dict[str, Any]) -> AsyncIterator[Any]:
    loop = asyncio.get_running_loop()
    chunks = _stream(app_path, action, args, kwargs)
    end = object()
    try:
        while True:
            chunk = await loop.run_in_executor(None, next, chunks, end)
            if chunk is end:
                return
            yield chunk
    finally:
        await loop.run_in_executor(None, chunks.close)
