"""The frame protocol between a Python process and the hornbeam node.

Spec: docs/python.md ("Frame protocol")

One ``Connection`` per process. One thread at a time, the reader, reads
frames: replies wake the thread waiting for them, streams run in a pool of
threads, and a call runs on the reader itself, which writes its reply, as
erlport's loop does. A call that makes a request of the node (``execute``
and the rest) keeps reading while it waits, so its reply reaches it without
a thread switch and calls back into this process run on the same thread;
a call that opens a stream, or that a watchdog sees running for a whole
``WATCHDOG_TICK`` without reading, hands reading to a pool thread, so a
slow handler does not hold up the others. Frames are written whole under
the port's write lock; stream chunks go through one flusher thread that
batches the chunks waiting for it into one ``{chunks, Id, [C...]}`` frame.
"""

import asyncio
import collections
import itertools
import logging
import os
import queue
import struct
import threading
import time
from typing import (Any, AsyncIterator, Callable, Deque, Dict, Iterator, List, Mapping, Optional,
                    Tuple)

from . import etf
from .etf import Atom
from .hooks import (
    BAD_REQUEST,
    ERROR,
    OK,
    Hook,
    HookError,
    Outcome,
    Registry,
    capture,
    error_term,
    is_stream,
)
from .port import Port

__all__ = [
    "DEFAULT_WINDOW",
    "PROTOCOL_VERSION",
    "WATCHDOG_TICK",
    "Connection",
    "attach",
    "default_socket",
    "unattached_error",
]

PROTOCOL_VERSION = 1
DEFAULT_WINDOW = 256
"""Chunks a stream consumer lets the producer send ahead, as in docs/protocol.md."""
WATCHDOG_TICK = 0.002
"""Seconds between the watchdog's looks at the reader. A call it finds running on the reader,
without reading since, at two looks in a row gets reading handed on: a slow call holds up the
others for one to two ticks. One look is not enough, as the watchdog's own wake-up can stall the
reader (it waits for the GIL the watchdog took) on a busy machine."""
WATCHDOG_IDLE_TICKS = 50
"""Watchdog ticks without a call on the reader before the watchdog parks until the next."""

log = logging.getLogger("hornbeam_erlang")

HELLO = Atom("hello")
READY = Atom("ready")
CALL = Atom("call")
STREAM = Atom("stream")
CREDIT = Atom("credit")
CANCEL = Atom("cancel")
REPLY = Atom("reply")
CHUNK = Atom("chunk")
CHUNKS = Atom("chunks")
DONE = Atom("done")
REGISTER = Atom("register")
UNREGISTER = Atom("unregister")
EXECUTE = Atom("execute")
EXECUTE_ASYNC = Atom("execute_async")
AWAIT_RESULT = Atom("await_result")
CLOSED = Atom("closed")
NO_NODE = Atom("no_node")

_FRAME_HEAD = bytes(4) + bytes((etf.VERSION,))
"""Room for a frame's length, then the version byte: where ``Port.write_packed`` frames start."""
_REPLY_HEAD = _FRAME_HEAD + b"\x68\x03" + etf.encode(REPLY)[1:]
"""``{reply, `` up to the request id."""
_CHUNK_HEAD = bytes((etf.VERSION,)) + b"\x68\x03" + etf.encode(CHUNK)[1:]
_CHUNKS_HEAD = bytes((etf.VERSION,)) + b"\x68\x03" + etf.encode(CHUNKS)[1:]
"""The start of a ``{chunk, Id, C}`` and a ``{chunks, Id, [C...]}`` frame: version, tuple, tag."""

_LIST_HEAD = struct.Struct(">BI")
_LIST_EXT = 108
_NIL_EXT = 106

_STATUS_HEAD = {status: b"\x68\x02" + etf.encode(status)[1:] for status in (OK, ERROR)}
"""``{ok, `` and ``{error, `` up to the value."""


def default_socket(environ: Optional[Mapping[str, str]] = None) -> str:
    """Return where a process attaches when ``HORNBEAM_SOCKET`` is unset: ``$TMPDIR/hornbeam-UID.sock``.

    ``TMPDIR`` defaults to ``/tmp``; ``make demo``'s node listens there.
    """
    env = os.environ if environ is None else environ
    return os.path.join(env.get("TMPDIR") or "/tmp", "hornbeam-%d.sock" % os.getuid())


def attach(registry: Registry, environ: Optional[Mapping[str, str]] = None) -> "Optional[Connection]":
    """Open and start the connection this process's environment names; None for local mode.

    ``HORNBEAM_PORT_FDS=R,W``: frames on those fds (a worker the node
    started). ``HORNBEAM_SOCKET=/path``: that Unix socket; ``OSError`` if it
    cannot be reached. Neither: the socket at ``default_socket()`` if a node
    listens there, else None (local mode).
    """
    env = os.environ if environ is None else environ
    fds = env.get("HORNBEAM_PORT_FDS")
    path = env.get("HORNBEAM_SOCKET")
    if fds:
        read_fd, write_fd = (int(fd) for fd in fds.split(","))
        port = Port(read_fd, write_fd)
    elif path:
        port = Port.connect_unix(path)
    else:
        try:
            port = Port.connect_unix(default_socket(env))
        except (FileNotFoundError, ConnectionRefusedError):
            return None
    conn = Connection(port, registry)
    conn.start()
    return conn


def unattached_error(app_path: Any, environ: Optional[Mapping[str, str]] = None) -> HookError:
    """Return the error of a local-mode call to an app path that no hook of this process serves.

    Its reason is ``{no_node, Message}``: the message names the app path and
    where the process looked for a node, so that it does not read as a
    missing hook on a node.
    """
    return HookError(NO_NODE, "no hook %r in this process and no hornbeam node to ask: "
                     "HORNBEAM_SOCKET is unset and no node listens at %s "
                     "(start one with `make demo`, or set HORNBEAM_SOCKET)"
                     % (app_path, default_socket(environ)))


def _reply_frame(request_id: int, status: Atom, value: Any) -> bytearray:
    """Return ``{reply, Id, {Status, Value}}`` built for ``Port.write_packed``."""
    frame = bytearray(_REPLY_HEAD)
    etf.encode_into(request_id, frame)
    frame += _STATUS_HEAD[status]
    etf.encode_into(value, frame)
    return frame

_WAIT = object()
"""What a non-blocking credit loop yields when no chunk has arrived yet."""


class _Waiter:
    """One reply slot: ``wait`` blocks until ``set`` runs, exactly once."""

    __slots__ = ("_lock", "result", "done")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self.result: Outcome = (ERROR, CLOSED)
        self.done = False

    def set(self, result: Outcome) -> None:
        self.result = result
        self.done = True
        self._lock.release()

    def wait(self) -> Outcome:
        self._lock.acquire()
        return self.result


class _Pool:
    """Daemon threads that run submitted calls; a new thread starts when none is idle.

    Threads never exceed ``limit``; past it, calls queue. A generous limit
    keeps nested calls (Python to node to Python) from waiting on each other.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._queue: "queue.SimpleQueue[Tuple[Callable[..., None], Tuple[Any, ...]]]" = (
            queue.SimpleQueue())
        self._lock = threading.Lock()
        self._idle = 0
        self._threads = 0

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        """Run ``fn(*args)`` on a pool thread."""
        with self._lock:
            spawn = False
            if self._idle:
                self._idle -= 1
            elif self._threads < self._limit:
                self._threads += 1
                spawn = True
        self._queue.put((fn, args))
        if spawn:
            threading.Thread(target=self._work, name="hornbeam-call", daemon=True).start()

    def _work(self) -> None:
        while True:
            fn, args = self._queue.get()
            try:
                fn(*args)
            except Exception:
                log.exception("hornbeam_erlang: call failed outside its handler")
            with self._lock:
                self._idle += 1


class _Call:
    """A call the peer asked for, running here; the peer may cancel it (its reply is then dropped)."""

    __slots__ = ("id", "cancelled")

    def __init__(self, request_id: int) -> None:
        self.id = request_id
        self.cancelled = False

    def add_credit(self, n: int) -> None:
        """Ignore credit: a call has no chunks."""

    def cancel(self) -> None:
        self.cancelled = True


class _Served:
    """A stream the peer asked for, running here; the peer may cancel it.

    Chunks are encoded as they are put, one after another into one buffer,
    so that ``take`` frames them all as ``{chunks, Id, [...]}`` with no
    object per chunk and no second encoding.
    """

    __slots__ = ("id", "lock", "cond", "credit", "cancelled", "pending", "count", "end")

    def __init__(self, request_id: int, credit: int) -> None:
        self.id = request_id
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.credit = credit
        self.cancelled = False
        self.pending = bytearray()
        self.count = 0
        self.end: Optional[Tuple[Any, ...]] = None

    def add_credit(self, n: int) -> None:
        with self.lock:
            self.credit += n
            self.cond.notify()

    def cancel(self) -> None:
        with self.lock:
            self.cancelled = True
            self.pending = bytearray()
            self.count = 0
            self.cond.notify()

    def put(self, chunk: Any) -> Optional[bool]:
        """Queue one chunk once there is credit for it; None once the stream is cancelled.

        The chunk is encoded first, so a bad value fails in its producer.
        Returns whether the queue was empty: only then does the flusher
        need telling, as it takes the whole queue at once.
        """
        encoded = bytearray()
        etf.encode_into(chunk, encoded)
        with self.lock:
            while self.credit <= 0 and not self.cancelled:
                self.cond.wait()
            if self.cancelled:
                return None
            self.credit -= 1
            self.pending += encoded
            self.count += 1
            return self.count == 1

    def finish(self, end: Tuple[Any, ...]) -> None:
        with self.lock:
            if not self.cancelled:
                self.end = end

    def take(self) -> List[bytes]:
        """Return the frames for what is queued: chunks first, then the end."""
        with self.lock:
            data, count = self.pending, self.count
            self.pending, self.count = bytearray(), 0
            end, self.end = self.end, None
        frames: List[bytes] = []
        if count:
            frame = bytearray(_CHUNK_HEAD if count == 1 else _CHUNKS_HEAD)
            etf.encode_into(self.id, frame)
            if count > 1:
                frame += _LIST_HEAD.pack(_LIST_EXT, count)
            frame += data
            if count > 1:
                frame.append(_NIL_EXT)
            frames.append(frame)
        if end is not None:
            frames.append(etf.encode(end))
        return frames


class _Inbound:
    """A stream this side asked for: chunks as they arrive, then the end."""

    __slots__ = ("id", "window", "cond", "items", "end", "waker")

    def __init__(self, request_id: int, window: int) -> None:
        self.id = request_id
        self.window = window
        self.cond = threading.Condition(threading.Lock())
        self.items: Deque[Any] = collections.deque()
        self.end: Optional[Outcome] = None
        self.waker: Optional[Callable[[], None]] = None

    def feed(self, items: List[Any], end: Optional[Outcome]) -> None:
        with self.cond:
            self.items.extend(items)
            if end is not None and self.end is None:
                self.end = end
            self.cond.notify()
            waker = self.waker
        if waker is not None:
            waker()

    def take(self, block: bool) -> Optional[List[Any]]:
        """Return the chunks that arrived; [] at the end; None if none yet and not blocking.

        Raises ``HookError`` when the stream ended with an error.
        """
        with self.cond:
            while not self.items and self.end is None:
                if not block:
                    return None
                self.cond.wait()
            if self.items:
                items = list(self.items)
                self.items.clear()
                return items
            end = self.end
        if end[0] is ERROR:
            raise HookError(end[1])
        return []


class Connection:
    """This process's link to the node over one ``Port``.

    Hooks in ``registry`` answer the node's calls; the request methods
    (``execute`` and the rest) block only their calling thread.
    """

    def __init__(self, port: Port, registry: Registry, max_threads: int = 1024) -> None:
        self._port = port
        self._registry = registry
        self._ids = itertools.count(1)
        self._pending: Dict[int, _Waiter] = {}
        self._inbound: Dict[int, _Inbound] = {}
        self._served: Dict[int, Any] = {}
        self._pool = _Pool(max_threads)
        self._dirty: Dict[int, _Served] = {}
        self._dirty_cond = threading.Condition(threading.Lock())
        self._closed = threading.Event()
        self._lead_lock = threading.Lock()
        self._inline: Optional[_Call] = None
        self._inline_thread = 0
        self._stretch = 0
        self._watch_parked = False
        self._watch_wake = threading.Event()
        self._shutdown_lock = threading.Lock()
        self._close_reason: Any = CLOSED
        self._dispatch: Dict[Any, Callable[[Tuple[Any, ...]], None]] = {
            REPLY: self._on_reply,
            CHUNK: self._on_chunk,
            CHUNKS: self._on_chunks,
            DONE: self._on_done,
            ERROR: self._on_stream_error,
            STREAM: self._on_stream,
            CREDIT: self._on_credit,
            CANCEL: self._on_cancel,
        }

    def start(self) -> None:
        """Send ``hello`` and start the reader, watchdog and flusher threads."""
        self._send((HELLO, PROTOCOL_VERSION, os.getpid()))
        self._pool.submit(self._read_loop)
        threading.Thread(target=self._watch_loop, name="hornbeam-watchdog", daemon=True).start()
        threading.Thread(target=self._flush_loop, name="hornbeam-flusher", daemon=True).start()

    def ready(self) -> None:
        """Tell the node this worker's module has registered its hooks."""
        self._send((READY,))

    @property
    def closed(self) -> bool:
        """Whether the link is down."""
        return self._closed.is_set()

    def wait_closed(self, timeout: Optional[float] = None) -> bool:
        """Block until the link is down (EOF from the node); False on timeout."""
        return self._closed.wait(timeout)

    def close(self) -> None:
        """Close the port; the reader sees the end and fails what is waiting."""
        self._port.close()
        self._shutdown(CLOSED)

    # Requests to the node.

    def register(self, hook: Hook) -> None:
        """Tell the node that this process serves ``hook.app_path``."""
        self._request(lambda i: (REGISTER, i, hook.app_path, hook.kind, hook.actions))

    def unregister(self, app_path: str) -> None:
        """Tell the node that this process no longer serves ``app_path``."""
        self._request(lambda i: (UNREGISTER, i, app_path))

    def execute(self, app_path: str, action: str, args: List[Any], kwargs: Dict[str, Any]) -> Any:
        """Call a hook through the node; return its value or raise ``HookError``."""
        return self._request(lambda i: (EXECUTE, i, app_path, action, args, kwargs))

    def execute_async(self, app_path: str, action: str, args: List[Any],
                      kwargs: Dict[str, Any]) -> Any:
        """Start a hook call on the node; return its task id."""
        return self._request(lambda i: (EXECUTE_ASYNC, i, app_path, action, args, kwargs))

    def await_result(self, task_id: Any, timeout_ms: int) -> Any:
        """Wait up to ``timeout_ms`` for a task's value; ``HookError`` ``timeout`` after."""
        return self._request(lambda i: (AWAIT_RESULT, i, task_id, timeout_ms))

    def stream(self, app_path: str, action: str, args: List[Any], kwargs: Dict[str, Any],
               window: int = DEFAULT_WINDOW) -> Iterator[Any]:
        """Yield a hook's chunks through the node; closing early cancels the producer."""
        inbound = self._open_stream(app_path, action, args, kwargs, window)
        yield from self._chunks(inbound, block=True)

    async def stream_async(self, app_path: str, action: str, args: List[Any],
                           kwargs: Dict[str, Any],
                           window: int = DEFAULT_WINDOW) -> AsyncIterator[Any]:
        """Like ``stream``, but waits on the running event loop instead of blocking it."""
        loop = asyncio.get_running_loop()
        inbound = self._open_stream(app_path, action, args, kwargs, window)
        wake = asyncio.Event()

        def waker() -> None:
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:
                pass
        inbound.waker = waker
        chunks = self._chunks(inbound, block=False)
        try:
            for item in chunks:
                if item is _WAIT:
                    await wake.wait()
                    wake.clear()
                    continue
                yield item
        finally:
            chunks.close()

    def _chunks(self, inbound: _Inbound, block: bool) -> Iterator[Any]:
        """The credit loop of ``stream`` and ``stream_async``: yield each chunk, granting credit back.

        With ``block`` false, yield ``_WAIT`` when nothing has arrived yet
        instead of blocking; the caller waits for the inbound's waker. Closing
        the generator cancels the stream.
        """
        consumed = 0
        try:
            while True:
                items = inbound.take(block)
                if items is None:
                    yield _WAIT
                    continue
                if not items:
                    return
                for item in items:
                    yield item
                consumed = self._grant(inbound, consumed + len(items))
        finally:
            self._close_stream(inbound)

    def _open_stream(self, app_path: str, action: str, args: List[Any], kwargs: Dict[str, Any],
                     window: int) -> _Inbound:
        self._release_reading()
        request_id = next(self._ids)
        inbound = _Inbound(request_id, window)
        self._inbound[request_id] = inbound
        if self._closed.is_set():
            self._inbound.pop(request_id, None)
            raise HookError(self._close_reason)
        try:
            self._send((STREAM, request_id, app_path, action, args, kwargs, window))
        except BaseException:
            self._inbound.pop(request_id, None)
            raise
        return inbound

    def _grant(self, inbound: _Inbound, consumed: int) -> int:
        """Return credit once about half a window is consumed; return what is left to grant."""
        if consumed >= max(1, inbound.window // 2) and inbound.id in self._inbound:
            self._send((CREDIT, inbound.id, consumed))
            return 0
        return consumed

    def _close_stream(self, inbound: _Inbound) -> None:
        if self._inbound.pop(inbound.id, None) is not None and not self._closed.is_set():
            try:
                self._send((CANCEL, inbound.id))
            except (HookError, OSError):
                pass

    def _request(self, make: Callable[[int], Tuple[Any, ...]]) -> Any:
        request_id = next(self._ids)
        waiter = _Waiter()
        self._pending[request_id] = waiter
        if self._closed.is_set():
            self._pending.pop(request_id, None)
            raise HookError(self._close_reason)
        try:
            self._send(make(request_id))
        except BaseException:
            self._pending.pop(request_id, None)
            raise
        served = self._inline
        if served is not None and self._inline_thread == threading.get_ident():
            self._read_for(served, waiter)
        status, value = waiter.wait()
        if status is OK:
            return value
        raise HookError(value)

    def _send(self, term: Tuple[Any, ...]) -> None:
        frame = bytearray(_FRAME_HEAD)
        etf.encode_into(term, frame)
        try:
            self._port.write_packed(frame)
        except OSError as exc:
            raise HookError(CLOSED, str(exc)) from None

    # Frames from the node.

    def _read_loop(self) -> None:
        """Read and handle frames until EOF, or until a call run here hands reading on."""
        self._read_until(None)

    def _read_for(self, served: _Call, waiter: _Waiter) -> None:
        """Read frames on the reader, running ``served``, until ``waiter`` is set or reading moves on."""
        with self._lead_lock:
            if self._inline is not served:
                return
            self._inline = None
        if self._read_until(waiter):
            self._stretch += 1
            self._inline = served

    def _read_until(self, waiter: Optional[_Waiter]) -> bool:
        """Read and handle frames until ``waiter`` is set; return whether this thread still reads.

        Without a waiter, read until EOF or until a call run here hands
        reading on. EOF or a broken link shuts the connection down, which
        sets every waiter, and returns False.
        """
        reason: Any = CLOSED
        try:
            while waiter is None or not waiter.done:
                frame = self._port.read_frame()
                try:
                    msg, rest = etf.decode(frame)
                except ValueError as exc:
                    log.error("hornbeam_erlang: dropped a frame that does not decode: %s", exc)
                    continue
                if rest:
                    log.error("hornbeam_erlang: dropped a frame with %d stray bytes", len(rest))
                    continue
                if type(msg) is tuple and len(msg) == 6 and msg[0] is CALL and type(msg[1]) is int:
                    if not self._run_inline(msg):
                        return False
                else:
                    self._handle(msg)
            return True
        except EOFError:
            reason = CLOSED
        except (OSError, ValueError) as exc:
            log.error("hornbeam_erlang: link to the node failed: %s", exc)
            reason = (CLOSED, str(exc))
        except BaseException:
            self._shutdown(CLOSED)
            raise
        self._shutdown(reason)
        return False

    def _handle(self, msg: Any) -> None:
        handler = None
        if type(msg) is tuple and len(msg) >= 2 and type(msg[1]) is int:
            handler = self._dispatch.get(msg[0])
        if handler is not None:
            try:
                handler(msg)
                return
            except (ValueError, TypeError):
                pass
        log.error("hornbeam_erlang: bad frame from the node: %r", msg)
        if type(msg) is tuple and len(msg) >= 2 and type(msg[1]) is int and msg[0] in (CALL, STREAM):
            self._reply(msg[1], (ERROR, (BAD_REQUEST, msg)))

    def _on_reply(self, msg: Tuple[Any, ...]) -> None:
        _, request_id, result = msg
        if type(result) is not tuple or len(result) != 2 or result[0] not in (OK, ERROR):
            result = (ERROR, (BAD_REQUEST, result))
        waiter = self._pending.pop(request_id, None)
        if waiter is not None:
            waiter.set(result)

    def _feed(self, request_id: int, items: List[Any], end: Optional[Outcome]) -> None:
        inbound = self._inbound.get(request_id)
        if inbound is None:
            return
        if end is not None:
            self._inbound.pop(request_id, None)
        inbound.feed(items, end)

    def _on_chunk(self, msg: Tuple[Any, ...]) -> None:
        _, request_id, chunk = msg
        self._feed(request_id, [chunk], None)

    def _on_chunks(self, msg: Tuple[Any, ...]) -> None:
        _, request_id, chunks = msg
        if type(chunks) is not list:
            raise ValueError("chunks must be a list")
        self._feed(request_id, chunks, None)

    def _on_done(self, msg: Tuple[Any, ...]) -> None:
        _, request_id = msg
        self._feed(request_id, [], (OK, None))

    def _on_stream_error(self, msg: Tuple[Any, ...]) -> None:
        _, request_id, reason = msg
        self._feed(request_id, [], (ERROR, reason))

    def _run_inline(self, msg: Tuple[Any, ...]) -> bool:
        """Run a ``call`` on the reader; return whether this thread still reads after it."""
        served = _Call(msg[1])
        self._served[served.id] = served
        self._inline_thread = threading.get_ident()
        self._stretch += 1
        self._inline = served
        if self._watch_parked:
            self._watch_wake.set()
        try:
            self._run_call(served, msg[2], msg[3], msg[4], msg[5])
        except Exception:
            log.exception("hornbeam_erlang: call failed outside its handler")
        with self._lead_lock:
            if self._inline is not served:
                return False
            self._inline = None
        return True

    def _hand_off(self, served: _Call) -> None:
        """Hand reading to a pool thread if ``served`` still runs on the reader."""
        with self._lead_lock:
            if self._inline is not served:
                return
            self._inline = None
        self._pool.submit(self._read_loop)

    def _release_reading(self) -> None:
        """Hand reading on before this thread blocks, if it is the reader running a call."""
        served = self._inline
        if served is not None and self._inline_thread == threading.get_ident():
            self._hand_off(served)

    def _watch_loop(self) -> None:
        """Hand reading on when a call has run on the reader for a whole tick without reading."""
        seen: Optional[Tuple[_Call, int]] = None
        idle = 0
        while not self._closed.is_set():
            time.sleep(WATCHDOG_TICK)
            served = self._inline
            if served is None:
                seen = None
                idle += 1
                if idle >= WATCHDOG_IDLE_TICKS:
                    self._watch_wake.clear()
                    self._watch_parked = True
                    if self._inline is None and not self._closed.is_set():
                        self._watch_wake.wait()
                    self._watch_parked = False
                    idle = 0
                continue
            idle = 0
            stretch = (served, self._stretch)
            if stretch == seen:
                self._hand_off(served)
                seen = None
            else:
                seen = stretch

    def _on_stream(self, msg: Tuple[Any, ...]) -> None:
        _, request_id, app_path, action, args, kwargs, window = msg
        if type(window) is not int or window < 0:
            raise ValueError("window must be a non-negative integer")
        served = _Served(request_id, window)
        self._served[request_id] = served
        self._pool.submit(self._run_stream, served, app_path, action, args, kwargs)

    def _on_credit(self, msg: Tuple[Any, ...]) -> None:
        _, request_id, n = msg
        if type(n) is not int or n < 0:
            raise ValueError("credit must be a non-negative integer")
        served = self._served.get(request_id)
        if served is not None:
            served.add_credit(n)

    def _on_cancel(self, msg: Tuple[Any, ...]) -> None:
        _, request_id = msg
        served = self._served.get(request_id)
        if served is not None:
            served.cancel()

    # Serving the node's calls, on pool threads.

    def _call_value(self, app_path: Any, action: Any, args: Any, kwargs: Any) -> Any:
        value = self._registry.get(app_path).call(action, args, kwargs)
        if is_stream(value):
            return list(value)
        return value

    def _run_call(self, served: _Call, app_path: Any, action: Any, args: Any,
                  kwargs: Any) -> None:
        try:
            result = capture(self._call_value, app_path, action, args, kwargs)
            if not served.cancelled:
                self._reply(served.id, result)
        finally:
            self._served.pop(served.id, None)

    def _reply(self, request_id: int, result: Outcome) -> None:
        status, value = result
        try:
            frame = _reply_frame(request_id, status, value)
        except TypeError as exc:
            frame = _reply_frame(request_id, ERROR, error_term(exc))
        try:
            self._port.write_packed(frame)
        except OSError as exc:
            log.error("hornbeam_erlang: cannot reply to call %d: %s", request_id, exc)

    def _stream_value(self, app_path: Any, action: Any, args: Any, kwargs: Any) -> Any:
        return self._registry.get(app_path).call(action, args, kwargs)

    def _run_stream(self, served: _Served, app_path: Any, action: Any, args: Any,
                    kwargs: Any) -> None:
        try:
            status, value = capture(self._stream_value, app_path, action, args, kwargs)
            if status is ERROR:
                served.finish((ERROR, served.id, value))
            elif not is_stream(value):
                if served.put(value) is not None:
                    served.finish((DONE, served.id))
            else:
                self._drain(served, value)
        except Exception as exc:
            served.finish((ERROR, served.id, error_term(exc)))
        finally:
            self._served.pop(served.id, None)
            self._mark(served)

    def _drain(self, served: _Served, chunks: Iterator[Any]) -> None:
        try:
            while not served.cancelled:
                try:
                    chunk = next(chunks)
                except StopIteration:
                    served.finish((DONE, served.id))
                    return
                queued = served.put(chunk)
                if queued is None:
                    return
                if queued:
                    self._mark(served)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    def _mark(self, served: _Served) -> None:
        with self._dirty_cond:
            self._dirty[served.id] = served
            self._dirty_cond.notify()

    def _flush_loop(self) -> None:
        while True:
            with self._dirty_cond:
                while not self._dirty and not self._closed.is_set():
                    self._dirty_cond.wait()
                if self._closed.is_set():
                    return
                batch, self._dirty = self._dirty, {}
            frames = []
            for served in batch.values():
                frames.extend(served.take())
            if not frames:
                continue
            try:
                self._port.write_frames(frames)
            except OSError as exc:
                log.error("hornbeam_erlang: cannot write stream chunks: %s", exc)

    def _shutdown(self, reason: Any) -> None:
        with self._shutdown_lock:
            if self._closed.is_set():
                return
            self._close_reason = reason
            self._closed.set()
        while self._pending:
            _, waiter = self._pending.popitem()
            waiter.set((ERROR, reason))
        while self._inbound:
            _, inbound = self._inbound.popitem()
            inbound.feed([], (ERROR, reason))
        for served in list(self._served.values()):
            served.cancel()
        self._watch_wake.set()
        with self._dirty_cond:
            self._dirty_cond.notify_all()
