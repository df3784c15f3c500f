"""``{packet,4}`` framing over a pair of file descriptors or a Unix socket.

Spec: https://www.erlang.org/doc/man/erlang.html#open_port-2 (option ``{packet, N}``)

Each frame is a 4-byte big-endian length and that many bytes. ``Port`` only
moves frames; ``etf`` turns them into terms. Reads and writes have separate
locks, so one thread may read while others write. ``write_packed`` takes a
frame built in place behind 4 bytes of room for its length, so a caller
that encodes into a ``bytearray`` sends it without another copy.

A read that finds nothing to read polls again, yielding the CPU between
polls, for up to ``SPIN_US`` microseconds before it sleeps, when the last
wait for data was that short: a peer that calls one call at a time sends
its next frame a round trip after our last, and a thread that slept for it
pays a wakeup (on a VM, an idle vCPU's too), which costs more than the call.
``HORNBEAM_SPIN_US`` sets the bound; 0 turns spinning off.
"""

import errno
import os
import select
import socket
import stat
import struct
import threading
import time
from typing import Callable, Iterable, Optional

from . import _steps

__all__ = ["MAX_FRAME", "Port", "SPIN_US"]

MAX_FRAME = 1 << 30
"""Largest frame either side may send; a longer length prefix ends the channel."""

SPIN_US = 50
"""How long a read polls for data before it sleeps, unless ``HORNBEAM_SPIN_US`` says otherwise."""

PROBE_EVERY = 8
"""While spinning is off, every ``PROBE_EVERY``-th wait spins anyway, to see whether spinning pays again."""

_POLL_MS = 100
"""How often a sleeping read wakes to see whether the port was closed under it."""

_length = struct.Struct(">I")
_READ_SIZE = 1 << 16


def _spin_ns() -> int:
    """Return the spin bound in nanoseconds, from ``HORNBEAM_SPIN_US`` or ``SPIN_US``."""
    try:
        return max(0, int(os.environ.get("HORNBEAM_SPIN_US", SPIN_US))) * 1000
    except ValueError:
        return SPIN_US * 1000


class Port:
    """A frame channel reading ``read_fd`` and writing ``write_fd``.

    ``read_frame`` blocks until a whole frame is there and raises ``EOFError``
    when the peer has closed; ``write_frames`` writes whole frames under the
    write lock, so frames from different threads never interleave.
    """

    def __init__(self, read_fd: int, write_fd: int, sock: Optional[socket.socket] = None) -> None:
        self._read_fd = read_fd
        self._write_fd = write_fd
        self._sock = sock
        self._recv: Callable[[int], bytes] = self._read_fd_bytes
        self._spin_ns = 0
        self._spin = False
        self._probe = 0
        self._poll = select.poll()
        self._poll.register(read_fd, select.POLLIN)
        if sock is not None:
            self._recv = self._recv_socket
            self._spin_ns = _spin_ns()
        elif stat.S_ISFIFO(os.fstat(read_fd).st_mode) or stat.S_ISSOCK(os.fstat(read_fd).st_mode):
            os.set_blocking(read_fd, False)
            self._spin_ns = _spin_ns()
        else:
            self._recv = self._read_fd_blocking
        self._buf = bytearray()
        self._read_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._closed = False
        self._close_lock = threading.Lock()

    @classmethod
    def from_socket(cls, sock: socket.socket) -> "Port":
        """Return a port over a connected stream socket; the port owns it."""
        return cls(sock.fileno(), sock.fileno(), sock)

    @classmethod
    def connect_unix(cls, path: str) -> "Port":
        """Connect to the Unix socket at ``path`` and return a port over it."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
        except OSError:
            sock.close()
            raise
        return cls.from_socket(sock)

    def _read_fd_blocking(self, size: int) -> bytes:
        return os.read(self._read_fd, size)

    def _read_fd_bytes(self, size: int) -> bytes:
        try:
            return os.read(self._read_fd, size)
        except BlockingIOError:
            return self._wait(os.read, self._read_fd, size)

    def _recv_socket(self, size: int) -> bytes:
        try:
            return self._sock.recv(size, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return self._wait(self._recv_nowait, size)

    def _recv_nowait(self, size: int) -> bytes:
        return self._sock.recv(size, socket.MSG_DONTWAIT)

    def _wait(self, read: Callable[..., bytes], *args: int) -> bytes:
        """Poll ``read(*args)`` until it has data: spinning first when the last wait was short (or a probe), then asleep.

        Asleep, it wakes every ``_POLL_MS`` to see whether the port was
        closed meanwhile (see ``close``).
        """
        start = time.monotonic_ns()
        self._probe += 1
        if self._spin_ns and (self._spin or self._probe % PROBE_EVERY == 0):
            deadline = start + self._spin_ns
            while True:
                os.sched_yield()
                try:
                    chunk = read(*args)
                    self._spin = True
                    return chunk
                except BlockingIOError:
                    if time.monotonic_ns() > deadline:
                        break
        while True:
            self._poll.poll(_POLL_MS)
            if self._closed:
                raise EOFError("port: closed")
            try:
                chunk = read(*args)
                break
            except BlockingIOError:
                continue
        self._spin = time.monotonic_ns() - start <= self._spin_ns
        return chunk

    def _read_some(self, size: int, have: int, need: int) -> bytes:
        """Read up to ``size`` bytes; ``EOFError`` at end of input with ``have`` of ``need`` bytes."""
        try:
            chunk = self._recv(size)
        except OSError:
            if self._closed:
                raise EOFError("port: closed") from None
            raise
        if not chunk:
            raise EOFError("port: end of input with %d of %d bytes read" % (have, need))
        return chunk

    def _fill(self, need: int) -> None:
        """Read until the buffer holds ``need`` bytes; ``EOFError`` at end of input."""
        buf = self._buf
        while len(buf) < need:
            buf += self._read_some(max(_READ_SIZE, need - len(buf)), len(buf), need)

    def read_frame(self) -> bytes:
        """Block until a whole frame arrives and return its payload.

        Raises ``EOFError`` when the peer closed (also in the middle of a
        frame), ``ValueError`` for a length above ``MAX_FRAME``.
        """
        with self._read_lock:
            try:
                frame = self._read_frame()
                if _steps.ON:
                    _steps.mark(_steps.FRAME_READ)
                return frame
            finally:
                if self._closed:
                    self._close_fd("_read_fd")

    def _read_frame(self) -> bytes:
        """``read_frame`` under the read lock."""
        if not self._buf:
            chunk = self._read_some(_READ_SIZE, 0, 4)
            if len(chunk) >= 4 and len(chunk) == 4 + _length.unpack_from(chunk)[0]:
                return chunk[4:]
            self._buf += chunk
        self._fill(4)
        size = _length.unpack_from(self._buf)[0]
        if size > MAX_FRAME:
            raise ValueError("port: frame of %d bytes exceeds %d" % (size, MAX_FRAME))
        self._fill(4 + size)
        frame = bytes(self._buf[4:4 + size])
        del self._buf[:4 + size]
        return frame

    def write_frames(self, frames: Iterable[bytes]) -> None:
        """Write each payload in ``frames`` as one frame, all in one locked write."""
        out = bytearray()
        for frame in frames:
            if len(frame) > MAX_FRAME:
                raise ValueError("port: frame of %d bytes exceeds %d" % (len(frame), MAX_FRAME))
            out += _length.pack(len(frame))
            out += frame
        with self._write_lock:
            self._write_locked(out)

    def write_packed(self, frame: bytearray) -> None:
        """Write ``frame[4:]`` as one frame; ``frame[:4]`` is room for the length, filled in here."""
        size = len(frame) - 4
        if size < 0 or size > MAX_FRAME:
            raise ValueError("port: packed frame of %d bytes, want 4 to %d" % (len(frame), MAX_FRAME + 4))
        _length.pack_into(frame, 0, size)
        with self._write_lock:
            self._write_locked(frame)

    def _write_locked(self, data: bytearray) -> None:
        """Write ``data`` under the write lock; after ``close``, fail, and close the descriptor if it waited."""
        try:
            if self._closed:
                raise OSError(errno.EBADF, "port: closed")
            if _steps.ON:
                _steps.mark(_steps.WRITE_START)
            self._write_all(data)
            if _steps.ON:
                _steps.mark(_steps.WRITE_END)
        finally:
            if self._closed:
                self._close_fd("_write_fd")

    def _write_all(self, data: bytearray) -> None:
        """Write all of ``data``; a write descriptor that is non-blocking (it shares its file with the read
        descriptor, which reads set non-blocking) is waited on when full."""
        if self._sock is not None:
            self._sock.sendall(data)
            return
        fd = self._write_fd
        try:
            written = os.write(fd, data)
        except BlockingIOError:
            written = 0
        if written == len(data):
            return
        view = memoryview(data)[written:]
        while view:
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                select.select((), (fd,), ())

    def write_frame(self, frame: bytes) -> None:
        """Write ``frame`` as one frame."""
        self.write_frames((frame,))

    def close(self) -> None:
        """Close the descriptors (or the socket); further reads raise ``EOFError``.

        A descriptor that a read or write is using is closed by that reader
        or writer as it returns (a read notices within ``_POLL_MS``), never
        under it: its number could otherwise be reused by another file, which
        the read or write would then use.
        """
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._sock.close()
            return
        for lock, name in ((self._read_lock, "_read_fd"), (self._write_lock, "_write_fd")):
            if lock.acquire(blocking=False):
                try:
                    self._close_fd(name)
                finally:
                    lock.release()

    def _close_fd(self, name: str) -> None:
        """Close the descriptor in attribute ``name`` once (-1 after), with its lock held; a socket closes in ``close``."""
        if self._sock is not None:
            return
        with self._close_lock:
            fd = getattr(self, name)
            setattr(self, name, -1)
            if fd < 0 or (name == "_write_fd" and fd == self._read_fd):
                return
            if name == "_read_fd" and fd == self._write_fd:
                self._write_fd = -1
        try:
            os.close(fd)
        except OSError:
            pass
