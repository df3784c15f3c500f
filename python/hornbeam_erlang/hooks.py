"""Python hook handlers: how a function, class or instance answers an action.

Spec: docs/python.md ("Handlers") and docs/protocol.md (the result rule).

A handler is one of:

=============  ==========================================================
kind           how ``execute(app_path, action, *args, **kwargs)`` runs
=============  ==========================================================
``function``   ``handler(action, *args, **kwargs)``
``class``      instantiated once at registration; ``obj.<action>(...)``
``instance``   ``obj.<action>(*args, **kwargs)``
=============  ==========================================================

Actions starting with ``_`` are refused, whatever the kind. A result that is
an iterator (a generator, say) is a stream. The result rule (docs/errors.md):
a returned ``(Atom('ok'), V)`` means success V and ``(Atom('error'), R)``
failure R; anything else is the value as is. A worker sends values as
returned and the node applies the rule; local mode applies it here. An
exception becomes ``{python, ClassName, Message, Traceback}``.
"""

import asyncio
import collections.abc
import inspect
import threading
import traceback
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .etf import Atom

__all__ = ["Hook", "HookError", "Registry", "capture", "error_term", "outcome"]

OK = Atom("ok")
ERROR = Atom("error")
PYTHON = Atom("python")
UNKNOWN_ACTION = Atom("unknown_action")
NOT_FOUND = Atom("not_found")
BAD_REQUEST = Atom("bad_request")
BADARG = Atom("badarg")

Outcome = Tuple[Atom, Any]
"""``(OK, value)`` or ``(ERROR, reason)``: a call's result as it goes on the wire."""


class HookError(RuntimeError):
    """A hook call failed with the Erlang error term ``reason``.

    ``HookError(reason)`` or ``HookError(kind, detail)``. ``kind`` names the
    error: the reason itself when it is an atom, its first element when it
    is a tuple whose first element is an atom, else None. ``detail`` is the
    second element of a pair, the remaining elements of a longer tuple (so
    ``{python, Class, Message, Traceback}`` gives a 3-tuple), else None.
    """

    def __init__(self, *args: Any) -> None:
        if len(args) == 2:
            reason: Any = (Atom(args[0]), args[1])
        elif len(args) == 1:
            reason = args[0]
        else:
            raise TypeError("HookError takes a reason or a kind and a detail, got %r" % (args,))
        super().__init__(reason)
        self.reason = reason
        self.kind: Optional[Atom] = None
        self.detail: Any = None
        if isinstance(reason, Atom):
            self.kind = reason
        elif type(reason) is tuple and reason and isinstance(reason[0], Atom):
            self.kind = reason[0]
            self.detail = reason[1] if len(reason) == 2 else reason[1:]

    def __str__(self) -> str:
        if self.kind == PYTHON and len(self.reason) == 4:
            return "%s: %s" % (self.reason[1], self.reason[2])
        if self.kind is not None and self.detail is not None:
            return "%s: %r" % (self.kind, self.detail)
        return "hook error: %r" % (self.reason,)


def error_term(exc: BaseException) -> Any:
    """Return the error reason that stands for ``exc`` on the wire.

    A ``HookError`` keeps its reason, so errors pass through Python
    unchanged; any other exception becomes ``{python, ClassName, Message,
    Traceback}`` with binaries.
    """
    if isinstance(exc, HookError):
        return exc.reason
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return (PYTHON, type(exc).__name__, str(exc), text)


def result_outcome(value: Any) -> Outcome:
    """Apply the result rule to a handler's return value."""
    if type(value) is tuple and len(value) == 2 and type(value[0]) is Atom:
        if value[0] is OK:
            return (OK, value[1])
        if value[0] is ERROR:
            return (ERROR, value[1])
    return (OK, value)


_PLAIN = frozenset((bytes, str, int, float, bool, type(None), list, tuple, dict, Atom))
"""Types of the values handlers return most, which are neither iterators nor coroutines: checked first, as
the ABC and coroutine checks cost more than the call of a quick handler's whole dispatch."""


def is_stream(value: Any) -> bool:
    """Report whether a handler's return value streams (it is an iterator)."""
    return type(value) not in _PLAIN and isinstance(value, collections.abc.Iterator)


def capture(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Outcome:
    """Call ``fn``; return ``(OK, value)`` as returned, or ``(ERROR, reason)`` if it raised.

    The result rule is not applied: the node applies it to what a worker
    sends. A coroutine result (an ``async def`` handler) is run to
    completion on a fresh event loop in the calling thread.
    """
    try:
        value = fn(*args, **kwargs)
        if type(value) not in _PLAIN and inspect.iscoroutine(value):
            value = asyncio.run(value)
    except Exception as exc:
        return (ERROR, error_term(exc))
    return (OK, value)


def outcome(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Outcome:
    """Call ``fn`` like ``capture`` and apply the result rule to its value."""
    status, value = capture(fn, *args, **kwargs)
    if status is ERROR:
        return (status, value)
    return result_outcome(value)


def _public_actions(obj: Any) -> List[str]:
    """Return the names of ``obj``'s public methods, without running properties."""
    names = []
    for name in dir(obj):
        if name.startswith("_"):
            continue
        attr = inspect.getattr_static(obj, name)
        if isinstance(attr, (classmethod, staticmethod)) or callable(attr):
            names.append(name)
    return names


class Hook:
    """One registered handler: its kind, its actions, and how to call it."""

    __slots__ = ("app_path", "kind", "target", "actions")

    def __init__(self, app_path: str, handler: Any) -> None:
        if not isinstance(app_path, str) or not app_path:
            raise ValueError("app_path must be a non-empty str, got %r" % (app_path,))
        self.app_path = app_path
        self.actions: Optional[List[str]] = None
        if inspect.isclass(handler):
            self.kind = Atom("class")
            self.target = handler()
            self.actions = _public_actions(self.target)
            return
        self.target = handler
        actions = [] if inspect.isroutine(handler) else _public_actions(handler)
        if callable(handler) and not actions:
            self.kind = Atom("function")
        else:
            self.kind = Atom("instance")
            self.actions = actions

    def resolve(self, action: Any) -> Callable[..., Any]:
        """Return the callable that runs ``action``; ``HookError`` if there is none."""
        name = str(action) if isinstance(action, str) else None
        if name is None or name.startswith("_"):
            raise HookError(UNKNOWN_ACTION, action)
        if self.kind == "function":
            target = self.target

            def run(*args: Any, **kwargs: Any) -> Any:
                return target(name, *args, **kwargs)
            return run
        method = getattr(self.target, name, None)
        if method is None or not callable(method):
            raise HookError(UNKNOWN_ACTION, action)
        return method  # type: ignore[no-any-return]

    def call(self, action: Any, args: Sequence[Any], kwargs: Mapping[Any, Any]) -> Any:
        """Run ``action`` and return what the handler returned (maybe an iterator).

        Raises ``HookError`` for an unknown action or bad arguments, and
        whatever the handler raises.
        """
        return self.resolve(action)(*_args(args), **_kwargs(kwargs))


def _args(args: Any) -> Sequence[Any]:
    if not isinstance(args, (list, tuple)):
        raise HookError(BADARG, "args must be a list, not %r" % (args,))
    return args  # type: ignore[no-any-return]


def _kwargs(kwargs: Any) -> Dict[str, Any]:
    """Return ``kwargs`` with str keys: atoms and UTF-8 binaries become plain str."""
    if not kwargs and type(kwargs) is dict:
        return {}
    if not isinstance(kwargs, dict):
        raise HookError(BADARG, "kwargs must be a map, not %r" % (kwargs,))
    out = {}
    for key, value in kwargs.items():
        if isinstance(key, bytes):
            try:
                key = key.decode("utf-8")
            except UnicodeDecodeError:
                raise HookError(BADARG, "kwargs key is not UTF-8: %r" % (key,)) from None
        if not isinstance(key, str):
            raise HookError(BADARG, "kwargs key is not a string: %r" % (key,))
        out[str(key)] = value
    return out


class Registry:
    """The hooks registered in this process, by app path; safe across threads."""

    def __init__(self) -> None:
        self._hooks: Dict[str, Hook] = {}
        self._lock = threading.Lock()

    def add(self, hook: Hook) -> None:
        """Register ``hook``, replacing any hook with the same app path."""
        with self._lock:
            self._hooks[hook.app_path] = hook

    def remove(self, app_path: str) -> Optional[Hook]:
        """Unregister ``app_path``; return the hook it had, if any."""
        with self._lock:
            return self._hooks.pop(app_path, None)

    def get(self, app_path: Any) -> Hook:
        """Return the hook of ``app_path``; ``HookError`` ``{not_found, AppPath}`` if none."""
        hook = self._hooks.get(app_path) if isinstance(app_path, str) else None
        if hook is None:
            raise HookError(NOT_FOUND, app_path)
        return hook

    def all(self) -> List[Hook]:
        """Return the registered hooks."""
        with self._lock:
            return list(self._hooks.values())
