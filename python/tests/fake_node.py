"""A stand-in for the Go node's side of the frame protocol, for tests.

It speaks docs/python.md over a ``Port``: it answers ``hello``, ``ready``,
``register`` and ``unregister``; it serves ``execute``, ``execute_async``,
``await_result`` and ``stream`` from its own "Go" hooks or by forwarding
``execute`` to the Python process that registered the app path; and it can
``call`` and ``stream`` Python hooks itself.
"""

import itertools
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from hornbeam_erlang import etf
from hornbeam_erlang.etf import Atom
from hornbeam_erlang.port import Port

OK = Atom("ok")
ERROR = Atom("error")


def result_rule(reply: Tuple[Any, Any]) -> Tuple[Any, Any]:
    """Apply the result rule to a worker's reply, as the node's engine does."""
    status, value = reply
    if status is OK and type(value) is tuple and len(value) == 2 and value[0] in (OK, ERROR):
        return value
    return reply


class FakeNode:
    """The node's end of one link; every frame it gets is kept in ``frames``."""

    def __init__(self, port: Port) -> None:
        self.port = port
        self.frames: List[Any] = []
        self.hello: "Future[Tuple[Any, ...]]" = Future()
        self.ready = threading.Event()
        self.registered: Dict[str, Tuple[Any, Any]] = {}
        self.go_hooks: Dict[str, Callable[..., Any]] = {}
        self._ids = itertools.count(1)
        self._replies: Dict[int, "Future[Any]"] = {}
        self._streams: Dict[int, "StreamProbe"] = {}
        self._producers: Dict[int, "_Producer"] = {}
        self._tasks: Dict[str, "Future[Any]"] = {}
        self.eof = threading.Event()
        threading.Thread(target=self._read_loop, daemon=True).start()

    def send(self, term: Any) -> None:
        """Write one frame holding ``term``."""
        self.port.write_frame(etf.encode(term))

    def call(self, app_path: str, action: Any, args: List[Any], kwargs: Dict[Any, Any],
             timeout: float = 5) -> Any:
        """Send ``{call, ...}`` to Python and return its reply's result term."""
        request_id = next(self._ids)
        future: "Future[Any]" = Future()
        self._replies[request_id] = future
        self.send((Atom("call"), request_id, app_path, action, args, kwargs))
        return future.result(timeout)

    def call_async(self, app_path: str, action: Any, args: List[Any],
                   kwargs: Dict[Any, Any]) -> "Future[Any]":
        """Send ``{call, ...}`` to Python; return a future of its result term."""
        request_id = next(self._ids)
        future: "Future[Any]" = Future()
        self._replies[request_id] = future
        self.send((Atom("call"), request_id, app_path, action, args, kwargs))
        return future

    def stream(self, app_path: str, action: Any, args: List[Any], kwargs: Dict[Any, Any],
               window: int) -> "StreamProbe":
        """Send ``{stream, ...}`` to Python; return a probe that sees what comes back."""
        request_id = next(self._ids)
        probe = StreamProbe(self, request_id)
        self._streams[request_id] = probe
        self.send((Atom("stream"), request_id, app_path, action, args, kwargs, window))
        return probe

    def _read_loop(self) -> None:
        try:
            while True:
                msg, _ = etf.decode(self.port.read_frame())
                self.frames.append(msg)
                self._handle(msg)
        except (EOFError, OSError):
            self.eof.set()

    def _handle(self, msg: Tuple[Any, ...]) -> None:
        kind = msg[0]
        if kind == "hello":
            self.hello.set_result(msg)
        elif kind == "ready":
            self.ready.set()
        elif kind == "reply":
            future = self._replies.pop(msg[1], None)
            if future is not None:
                future.set_result(msg[2])
        elif kind in ("chunk", "chunks", "done", "error"):
            self._streams[msg[1]].feed(msg)
        elif kind == "register":
            _, request_id, app_path, handler_kind, actions = msg
            self.registered[app_path] = (handler_kind, actions)
            self.send((Atom("reply"), request_id, (OK, OK)))
        elif kind == "unregister":
            self.registered.pop(msg[2], None)
            self.send((Atom("reply"), msg[1], (OK, OK)))
        elif kind == "execute":
            threading.Thread(target=self._execute, args=msg[1:], daemon=True).start()
        elif kind == "execute_async":
            task_id = "task-%d" % msg[1]
            future: "Future[Any]" = Future()
            self._tasks[task_id] = future
            threading.Thread(target=lambda: future.set_result(self._run(*msg[2:])),
                             daemon=True).start()
            self.send((Atom("reply"), msg[1], (OK, task_id)))
        elif kind == "await_result":
            threading.Thread(target=self._await, args=msg[1:], daemon=True).start()
        elif kind == "stream":
            _, request_id, app_path, action, args, kwargs, window = msg
            producer = _Producer(self, request_id, self.go_hooks[app_path](action, *args),
                                 window)
            self._producers[request_id] = producer
            threading.Thread(target=producer.run, daemon=True).start()
        elif kind == "credit":
            self._producers[msg[1]].add(msg[2])
        elif kind == "cancel":
            self._producers[msg[1]].cancel()

    def _run(self, app_path: str, action: Any, args: List[Any], kwargs: Dict[Any, Any]) -> Any:
        if app_path in self.go_hooks:
            try:
                return (OK, self.go_hooks[app_path](action, *args, **kwargs))
            except Exception as exc:
                return (ERROR, (Atom("go"), str(exc)))
        if app_path in self.registered:
            return result_rule(self.call(app_path, action, args, kwargs, timeout=10))
        return (ERROR, (Atom("not_found"), app_path))

    def _execute(self, request_id: int, app_path: str, action: Any, args: List[Any],
                 kwargs: Dict[Any, Any]) -> None:
        result = self._run(app_path, action, args, kwargs)
        if not self.eof.is_set():
            self.send((Atom("reply"), request_id, result))

    def _await(self, request_id: int, task_id: str, timeout_ms: int) -> None:
        try:
            result = self._tasks[task_id].result(timeout_ms / 1000)
        except FutureTimeout:
            result = (ERROR, Atom("timeout"))
        self.send((Atom("reply"), request_id, result))


class StreamProbe:
    """What Python sent back for one ``{stream, ...}`` the node asked for."""

    def __init__(self, node: FakeNode, request_id: int) -> None:
        self.node = node
        self.id = request_id
        self.frames: List[Any] = []
        self.chunks: List[Any] = []
        self.end: "Future[Any]" = Future()
        self.cond = threading.Condition()

    def feed(self, msg: Tuple[Any, ...]) -> None:
        with self.cond:
            self.frames.append(msg)
            if msg[0] == "chunk":
                self.chunks.append(msg[2])
            elif msg[0] == "chunks":
                self.chunks.extend(msg[2])
            else:
                self.end.set_result(msg)
            self.cond.notify_all()

    def wait_chunks(self, n: int, timeout: float = 5) -> List[Any]:
        """Block until ``n`` chunks arrived; return them all."""
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.chunks) >= n, timeout):
                raise AssertionError("got %d chunks, want %d" % (len(self.chunks), n))
            return list(self.chunks)

    def credit(self, n: int) -> None:
        self.node.send((Atom("credit"), self.id, n))

    def cancel(self) -> None:
        self.node.send((Atom("cancel"), self.id))


class _Producer:
    """A "Go" stream the node sends to Python, honouring credit."""

    def __init__(self, node: FakeNode, request_id: int, chunks: Iterator[Any],
                 window: int) -> None:
        self.node = node
        self.id = request_id
        self.chunks = chunks
        self.credit = window
        self.cancelled = False
        self.cond = threading.Condition()
        self.closed: Optional[bool] = None

    def add(self, n: int) -> None:
        with self.cond:
            self.credit += n
            self.cond.notify_all()

    def cancel(self) -> None:
        with self.cond:
            self.cancelled = True
            self.cond.notify_all()

    def run(self) -> None:
        for chunk in self.chunks:
            with self.cond:
                self.cond.wait_for(lambda: self.credit > 0 or self.cancelled)
                if self.cancelled:
                    self.closed = True
                    return
                self.credit -= 1
            self.node.send((Atom("chunk"), self.id, chunk))
        self.closed = False
        self.node.send((Atom("done"), self.id))
