"""``{packet,4}`` framing over a pair of file descriptors or a Unix socket.

Spec: https://www.erlang.org/doc/man/erlang.html#open_port-2 (option ``{packet, N}``)

Each frame is a 4-byte big-endian length and that many bytes. ``Port`` only
moves frames; ``etf`` turns them into terms. Reads and writes have separate
locks, so one thread may read while others write. ``write_packed`` takes a
frame built in place behind 4 bytes of room for its length, so a caller
that encodes into a ``bytearray`` sends it without another copy.
"""

import os
import socket
import struct
import threading
from typing import Callable, Iterable, Optional

__all__ = ["MAX_FRAME", "Port"]

MAX_FRAME = 1 << 30
"""Largest frame either side may send; a longer length prefix ends the channel."""

_length = struct.Struct(">I")
_READ_SIZE = 1 << 16


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
        self._recv: Callable[[int], bytes] = sock.recv if sock is not None else self._read_fd_bytes
        self._buf = bytearray()
        self._read_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._closed = False

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

    def _read_fd_bytes(self, size: int) -> bytes:
        return os.read(self._read_fd, size)

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
            self._write_all(out)

    def write_packed(self, frame: bytearray) -> None:
        """Write ``frame[4:]`` as one frame; ``frame[:4]`` is room for the length, filled in here."""
        size = len(frame) - 4
        if size < 0 or size > MAX_FRAME:
            raise ValueError("port: packed frame of %d bytes, want 4 to %d" % (len(frame), MAX_FRAME + 4))
        _length.pack_into(frame, 0, size)
        with self._write_lock:
            self._write_all(frame)

    def _write_all(self, data: bytearray) -> None:
        if self._sock is not None:
            self._sock.sendall(data)
            return
        written = os.write(self._write_fd, data)
        if written == len(data):
            return
        view = memoryview(data)[written:]
        while view:
            view = view[os.write(self._write_fd, view):]

    def write_frame(self, frame: bytes) -> None:
        """Write ``frame`` as one frame."""
        self.write_frames((frame,))

    def close(self) -> None:
        """Close the descriptors (or the socket); further reads raise ``EOFError``."""
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
        for fd in {self._read_fd, self._write_fd}:
            try:
                os.close(fd)
            except OSError:
                pass
