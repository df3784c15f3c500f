"""Lifecycle hooks for Python callers: hook objects around the calls this process makes.

Spec: docs/lifecycle.md

A hook is any object (instance, class or module) with some of these
callbacks; a missing one passes the value on. They run in the calling
thread, in list order: the client-level hooks (``use_hooks``), then the
per-call ones (``with_hooks``).

===================  =========================================  ==============
callback             arguments                                  kind
===================  =========================================  ==============
``on_call_start``    ``call, (action, args, kwargs), context``  transforming
``on_call_end``      ``call, result, context``                  transforming
``on_call_error``    ``call, reason, context``                  observational
``on_stream_start``  ``call, (action, args, kwargs), context``  transforming
``on_stream_chunk``  ``call, chunk, context``                   observational
``on_stream_end``    ``call, context``                          observational
===================  =========================================  ==============

``call`` is ``{'app_path': ..., 'action': ...}`` as the caller made it;
``context`` is a dict of its own per call. A transforming callback returns
``cont(value)``, ``halt(response)`` or ``error(reason)`` (the pairs
``('cont', v)``, ``('halt', r)``, ``('error', r)``). One that raises or
returns anything else fails the call with ``HookError(('hook', Name,
(Callback, Why)))``. An observational callback that raises is logged here
and skipped. This module runs the hooks; ``api`` makes the calls.
"""

import collections.abc
import logging
import secrets
import types
from typing import Any, AsyncIterator, Callable, Dict, Iterator, List, Sequence, Tuple

from .etf import Atom
from .hooks import HookError, error_term

__all__ = ["cont", "error", "halt"]

CONT = Atom("cont")
HALT = Atom("halt")
ERROR = Atom("error")
HOOK = Atom("hook")
BAD_RETURN = Atom("bad_return")
TIMEOUT = Atom("timeout")

log = logging.getLogger(__name__)

Request = Tuple[str, List[Any], Dict[Any, Any]]

_tasks: Dict[Any, Any] = {}
"""Tasks started with hooks, by id: ``(hooks, call, context)``, or ``(HALT, response)``."""


def cont(value: Any) -> Tuple[Atom, Any]:
    """Go on with ``value``: what a transforming callback returns to continue."""
    return (CONT, value)


def halt(response: Any) -> Tuple[Atom, Any]:
    """Stop the call here; it answers ``response`` (for a stream: a list of chunks)."""
    return (HALT, response)


def error(reason: Any) -> Tuple[Atom, Any]:
    """Stop the call here; it raises ``HookError(reason)``."""
    return (ERROR, reason)


def check_hooks(hooks: Any) -> List[Any]:
    """Return ``hooks`` as a list; ``TypeError`` unless it is a list or tuple of hook objects."""
    if not isinstance(hooks, (list, tuple)):
        raise TypeError("hooks must be a list of hook objects, not %r" % (hooks,))
    for hook in hooks:
        if hook is None or isinstance(hook, (str, bytes)):
            raise TypeError("a hook is an object with lifecycle callbacks, not %r" % (hook,))
    return list(hooks)


def name_of(hook: Any) -> str:
    """The name a hook has in errors: its module's, its class's, or its type's qualified name."""
    if isinstance(hook, types.ModuleType):
        return hook.__name__
    kind = hook if isinstance(hook, type) else type(hook)
    return "%s.%s" % (kind.__module__, kind.__qualname__)


def _is_request(value: Any) -> bool:
    return (isinstance(value, (tuple, list)) and len(value) == 3 and isinstance(value[0], str)
            and isinstance(value[1], (tuple, list)) and isinstance(value[2], collections.abc.Mapping))


def _is_chunks(value: Any) -> bool:
    return isinstance(value, (list, tuple))


def _any(value: Any) -> bool:
    return True


def _transform(hooks: Sequence[Any], callback: str, call: Dict[str, Any], value: Any,
               context: Dict[Any, Any], valid_cont: Callable[[Any], bool],
               valid_halt: Callable[[Any], bool] = _any) -> Tuple[Atom, Any]:
    """Run ``callback`` of each hook on ``value``: ``(CONT, value)`` or ``(HALT, response)``.

    Raises ``HookError`` on an error return, and on a raise or a bad return
    (``('hook', Name, (Callback, Why))``).
    """
    for hook in hooks:
        fn = getattr(hook, callback, None)
        if fn is None:
            continue
        try:
            ret = fn(call, value, context)
        except Exception as exc:
            raise HookError((HOOK, name_of(hook), (Atom(callback), error_term(exc)))) from exc
        kind = ret[0] if type(ret) is tuple and len(ret) == 2 and isinstance(ret[0], str) else None
        if kind == CONT and valid_cont(ret[1]):
            value = ret[1]
        elif kind == HALT and valid_halt(ret[1]):
            return (HALT, ret[1])
        elif kind == ERROR:
            raise HookError(ret[1])
        else:
            raise HookError((HOOK, name_of(hook), (Atom(callback), (BAD_RETURN, ret))))
    return (CONT, value)


def _observe(hooks: Sequence[Any], callback: str, *args: Any) -> None:
    """Run the observational ``callback`` of each hook; one that raises is logged and skipped."""
    for hook in hooks:
        fn = getattr(hook, callback, None)
        if fn is None:
            continue
        try:
            fn(*args)
        except Exception:
            log.warning("hornbeam lifecycle hook %s.%s raised; ignored", name_of(hook), callback,
                        exc_info=True)


def _start(hooks: Sequence[Any], callback: str, app_path: Any, action: Any, args: Any,
           kwargs: Any, context: Dict[Any, Any]) -> Tuple[Dict[str, Any], Atom, Any]:
    call = {"app_path": app_path, "action": action}
    request = (action, list(args), dict(kwargs))
    valid_halt = _is_chunks if callback == "on_stream_start" else _any
    kind, value = _transform(hooks, callback, call, request, context, _is_request, valid_halt)
    if kind is CONT:
        value = (value[0], list(value[1]), dict(value[2]))
    return call, kind, value


def _end(hooks: Sequence[Any], call: Dict[str, Any], result: Any, context: Dict[Any, Any]) -> Any:
    return _transform(hooks, "on_call_end", call, result, context, _any)[1]


def execute(hooks: Sequence[Any], context: Dict[Any, Any], app_path: Any, action: Any, args: Any,
            kwargs: Any, remote: Callable[[Any, Any, Any, Any], Any]) -> Any:
    """Run ``remote(app_path, action, args, kwargs)`` between the hooks' start and end callbacks."""
    if not hooks:
        return remote(app_path, action, args, kwargs)
    context = dict(context)
    call, kind, value = _start(hooks, "on_call_start", app_path, action, args, kwargs, context)
    if kind is HALT:
        return value
    try:
        result = remote(app_path, *value)
    except HookError as exc:
        _observe(hooks, "on_call_error", call, exc.reason, context)
        raise
    return _end(hooks, call, result, context)


def execute_async(hooks: Sequence[Any], context: Dict[Any, Any], app_path: Any, action: Any,
                  args: Any, kwargs: Any, remote: Callable[[Any, Any, Any, Any], Any]) -> Any:
    """Run the start callbacks and ``remote``; remember the task's hooks for ``await_result``.

    A halted start gives a task id of this process whose result is the halt's response.
    """
    if not hooks:
        return remote(app_path, action, args, kwargs)
    context = dict(context)
    call, kind, value = _start(hooks, "on_call_start", app_path, action, args, kwargs, context)
    if kind is HALT:
        task_id = "hornbeam_lifecycle-" + secrets.token_hex(16)
        _tasks[task_id] = (HALT, value)
        return task_id
    try:
        task_id = remote(app_path, *value)
    except HookError as exc:
        _observe(hooks, "on_call_error", call, exc.reason, context)
        raise
    _tasks[task_id] = (hooks, call, context)
    return task_id


def await_result(task_id: Any, timeout_ms: int, remote: Callable[[Any, int], Any]) -> Any:
    """Await a task with ``remote``, then run the end callbacks of the hooks it was started with.

    A timeout leaves the task and its hooks for a later await.
    """
    entry = _tasks.get(task_id) if isinstance(task_id, (str, bytes)) else None
    if entry is None:
        return remote(task_id, timeout_ms)
    if entry[0] is HALT:
        _tasks.pop(task_id, None)
        return entry[1]
    hooks, call, context = entry
    try:
        result = remote(task_id, timeout_ms)
    except HookError as exc:
        if exc.reason != TIMEOUT and _tasks.pop(task_id, None) is not None:
            _observe(hooks, "on_call_error", call, exc.reason, context)
        raise
    if _tasks.pop(task_id, None) is None:
        return result
    return _end(hooks, call, result, context)


class _Watch:
    """One stream's observation: its chunks, its failure and its end, once."""

    __slots__ = ("hooks", "call", "context")

    def __init__(self, hooks: Sequence[Any], call: Dict[str, Any], context: Dict[Any, Any]) -> None:
        self.hooks = hooks
        self.call = call
        self.context = context

    def chunk(self, chunk: Any) -> None:
        _observe(self.hooks, "on_stream_chunk", self.call, chunk, self.context)

    def failed(self, reason: Any) -> None:
        _observe(self.hooks, "on_call_error", self.call, reason, self.context)

    def end(self) -> None:
        _observe(self.hooks, "on_stream_end", self.call, self.context)


def _open(hooks: Sequence[Any], context: Dict[Any, Any], app_path: Any, action: Any, args: Any,
          kwargs: Any) -> Tuple[_Watch, Atom, Any]:
    context = dict(context)
    call, kind, value = _start(hooks, "on_stream_start", app_path, action, args, kwargs, context)
    return _Watch(hooks, call, context), kind, value


def stream(hooks: Sequence[Any], context: Dict[Any, Any], app_path: Any, action: Any, args: Any,
           kwargs: Any, remote: Callable[[Any, Any, Any, Any], Iterator[Any]]) -> Iterator[Any]:
    """Yield the chunks of ``remote(...)``, shown to the hooks; a generator.

    ``on_stream_end`` runs once when the stream ends, fails or is closed.
    """
    if not hooks:
        yield from remote(app_path, action, args, kwargs)
        return
    watch, kind, value = _open(hooks, context, app_path, action, args, kwargs)
    if kind is HALT:
        yield from value
        return
    chunks = remote(app_path, *value)
    try:
        for chunk in chunks:
            watch.chunk(chunk)
            yield chunk
    except HookError as exc:
        watch.failed(exc.reason)
        raise
    finally:
        chunks.close()  # type: ignore[attr-defined]
        watch.end()


async def stream_async(hooks: Sequence[Any], context: Dict[Any, Any], app_path: Any, action: Any,
                       args: Any, kwargs: Any,
                       remote: Callable[[Any, Any, Any, Any], AsyncIterator[Any]]) -> AsyncIterator[Any]:
    """Like ``stream``, over the async iterator ``remote(...)`` gives; it is closed at the end."""
    watch, kind, value = _open(hooks, context, app_path, action, args, kwargs)
    if kind is HALT:
        for chunk in value:
            yield chunk
        return
    chunks = remote(app_path, *value)
    try:
        async for chunk in chunks:
            watch.chunk(chunk)
            yield chunk
    except HookError as exc:
        watch.failed(exc.reason)
        raise
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]
        watch.end()
