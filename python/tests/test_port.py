"""Tests of {packet,4} framing."""

import os
import socket
import threading
import time
import unittest
from unittest import mock

from hornbeam_erlang.port import MAX_FRAME, Port


class TestPort(unittest.TestCase):
    """Frames over pipes and sockets."""

    def pipe_pair(self) -> "tuple[Port, int]":
        read_fd, write_fd = os.pipe()
        port = Port(read_fd, os.open(os.devnull, os.O_WRONLY))
        self.addCleanup(port.close)
        return port, write_fd

    def test_frames_in_pieces(self) -> None:
        port, write_fd = self.pipe_pair()
        data = b"\x00\x00\x00\x03abc\x00\x00\x00\x00\x00\x00\x00\x02hi"

        def feed() -> None:
            for i in range(len(data)):
                os.write(write_fd, data[i:i + 1])
            os.close(write_fd)
        thread = threading.Thread(target=feed)
        thread.start()
        self.assertEqual([port.read_frame() for _ in range(3)], [b"abc", b"", b"hi"])
        with self.assertRaises(EOFError):
            port.read_frame()
        thread.join()

    def test_whole_frames_in_one_read(self) -> None:
        port, write_fd = self.pipe_pair()
        os.write(write_fd, b"\x00\x00\x00\x03abc")
        self.assertEqual(port.read_frame(), b"abc")
        os.write(write_fd, b"\x00\x00\x00\x02hi\x00\x00\x00\x01!")
        self.assertEqual([port.read_frame(), port.read_frame()], [b"hi", b"!"])
        os.close(write_fd)
        with self.assertRaises(EOFError):
            port.read_frame()

    def test_close_under_a_sleeping_read(self) -> None:
        port, write_fd = self.pipe_pair()
        self.addCleanup(os.close, write_fd)
        got = []

        def read() -> None:
            try:
                port.read_frame()
            except EOFError as exc:
                got.append(exc)
        thread = threading.Thread(target=read)
        thread.start()
        time.sleep(0.05)
        read_fd = port._read_fd
        port.close()
        os.fstat(read_fd)  # still open: the reader uses it
        thread.join(1)
        self.assertFalse(thread.is_alive())
        self.assertEqual(len(got), 1)
        with self.assertRaises(OSError):
            os.fstat(read_fd)  # the reader closed it as it left
        with self.assertRaises(EOFError):
            port.read_frame()

    def test_one_socket_fd_both_ways(self) -> None:
        # Reads set the descriptor non-blocking; a frame bigger than the socket's buffer still goes out whole.
        a, b = socket.socketpair()
        self.addCleanup(b.close)
        fd = os.dup(a.fileno())
        a.close()
        port = Port(fd, fd)
        self.addCleanup(port.close)
        payload = b"x" * (4 << 20)
        got = bytearray()

        def drain() -> None:
            while len(got) < 4 + len(payload):
                got.extend(b.recv(1 << 16))
        thread = threading.Thread(target=drain)
        thread.start()
        port.write_packed(bytearray(4) + payload)
        thread.join(5)
        self.assertEqual(bytes(got[4:]), payload)
        b.sendall(b"\x00\x00\x00\x02hi")
        self.assertEqual(port.read_frame(), b"hi")

    def test_spin_off(self) -> None:
        with mock.patch.dict(os.environ, {"HORNBEAM_SPIN_US": "0"}):
            port, write_fd = self.pipe_pair()
        self.addCleanup(os.close, write_fd)
        os.write(write_fd, b"\x00\x00\x00\x01!")
        self.assertEqual(port.read_frame(), b"!")
        self.assertEqual(port._spin_ns, 0)

    def test_write_packed(self) -> None:
        read_fd, write_fd = os.pipe()
        port = Port(os.open(os.devnull, os.O_RDONLY), write_fd)
        self.addCleanup(port.close)
        self.addCleanup(os.close, read_fd)
        port.write_packed(bytearray(b"\xff\xff\xff\xffabc"))
        port.write_packed(bytearray(4))
        self.assertEqual(os.read(read_fd, 100), b"\x00\x00\x00\x03abc\x00\x00\x00\x00")
        with self.assertRaises(ValueError):
            port.write_packed(bytearray(b"ab"))

    def test_eof_mid_frame(self) -> None:
        port, write_fd = self.pipe_pair()
        os.write(write_fd, b"\x00\x00\x00\x05ab")
        os.close(write_fd)
        with self.assertRaises(EOFError):
            port.read_frame()

    def test_too_large(self) -> None:
        port, write_fd = self.pipe_pair()
        os.write(write_fd, (MAX_FRAME + 1).to_bytes(4, "big"))
        os.close(write_fd)
        with self.assertRaises(ValueError):
            port.read_frame()

    def test_socket_round_trip(self) -> None:
        left, right = socket.socketpair()
        a, b = Port.from_socket(left), Port.from_socket(right)
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        big = os.urandom(300000)
        writer = threading.Thread(target=a.write_frames, args=([b"one", big],))
        writer.start()
        self.assertEqual(b.read_frame(), b"one")
        self.assertEqual(b.read_frame(), big)
        writer.join()
        a.close()
        with self.assertRaises(EOFError):
            b.read_frame()


if __name__ == "__main__":
    unittest.main()
