"""Tests of the frame protocol: a Connection wired to a fake node over a socketpair."""

import asyncio
import os
import socket
import tempfile
import threading
import time
import unittest
from typing import Any, Iterator

from hornbeam_erlang import api
from hornbeam_erlang.connection import (
    PROTOCOL_VERSION,
    Connection,
    attach,
    default_socket,
    unattached_error,
)
from hornbeam_erlang.etf import Atom
from hornbeam_erlang.hooks import Hook, HookError, Registry
from hornbeam_erlang.port import Port
from tests.fake_node import FakeNode

OK = Atom("ok")
ERROR = Atom("error")


def echo(action: str, *args: Any, **kwargs: Any) -> Any:
    """A function handler returning what it got."""
    return [action, list(args), kwargs]


class Service:
    """A class handler."""

    def __init__(self) -> None:
        self.calls = 0

    def add(self, a: int, b: int) -> int:
        self.calls += 1
        return a + b

    def fail(self) -> None:
        raise ValueError("bad input")

    def refuse(self) -> Any:
        return (ERROR, Atom("nope"))

    def plain_dict(self) -> Any:
        return {"error": "kept as a value"}

    def _secret(self) -> str:
        return "hidden"

    def unencodable(self) -> Any:
        return {1, 2}


class Linked(unittest.TestCase):
    """A Connection and a FakeNode on the two ends of a socketpair."""

    use_api_registry = False

    def setUp(self) -> None:
        left, right = socket.socketpair()
        self.registry = api.registry if self.use_api_registry else Registry()
        self.conn = Connection(Port.from_socket(left), self.registry)
        self.node = FakeNode(Port.from_socket(right))
        self.conn.start()
        self.addCleanup(self.node.port.close)
        self.addCleanup(self.conn.close)

    def add(self, app_path: str, handler: Any) -> Hook:
        hook = Hook(app_path, handler)
        self.registry.add(hook)
        self.conn.register(hook)
        return hook


class TestHandshake(Linked):
    """hello, register, unregister."""

    def test_hello(self) -> None:
        msg = self.node.hello.result(5)
        self.assertEqual(msg[:2], (Atom("hello"), PROTOCOL_VERSION))
        self.assertIsInstance(msg[2], int)

    def test_register(self) -> None:
        self.add("svc", Service)
        self.add("echo", echo)
        self.assertEqual(self.node.registered["svc"],
                         (Atom("class"), ["add", "fail", "plain_dict", "refuse", "unencodable"]))
        self.assertEqual(self.node.registered["echo"], (Atom("function"), None))
        self.conn.unregister("echo")
        self.assertNotIn("echo", self.node.registered)


class TestCalls(Linked):
    """The node calls Python hooks."""

    def setUp(self) -> None:
        super().setUp()
        self.add("echo", echo)
        self.add("svc", Service)

    def test_function(self) -> None:
        got = self.node.call("echo", "encode", [1, "x"], {"k": 2, Atom("a"): 3})
        self.assertEqual(got, (OK, ["encode", [1, "x"], {"k": 2, "a": 3}]))

    def test_atom_action(self) -> None:
        self.assertEqual(self.node.call("svc", Atom("add"), [1, 2], {}), (OK, 3))

    def test_values_go_as_returned(self) -> None:
        self.assertEqual(self.node.call("svc", "refuse", [], {}), (OK, (ERROR, Atom("nope"))))
        self.assertEqual(self.node.call("svc", "plain_dict", [], {}),
                         (OK, {"error": "kept as a value"}))

    def test_exception(self) -> None:
        status, reason = self.node.call("svc", "fail", [], {})
        self.assertEqual(status, ERROR)
        self.assertEqual(reason[:3], (Atom("python"), "ValueError", "bad input"))
        self.assertIn("Traceback", reason[3])

    def test_refused_actions(self) -> None:
        for action in ("_secret", "__init__", "missing"):
            with self.subTest(action=action):
                self.assertEqual(self.node.call("svc", action, [], {}),
                                 (ERROR, (Atom("unknown_action"), action)))

    def test_not_found(self) -> None:
        self.assertEqual(self.node.call("nobody", "x", [], {}),
                         (ERROR, (Atom("not_found"), "nobody")))

    def test_unencodable_result(self) -> None:
        status, reason = self.node.call("svc", "unencodable", [], {})
        self.assertEqual((status, reason[:2]), (ERROR, (Atom("python"), "TypeError")))

    def test_bad_request(self) -> None:
        with self.assertLogs("hornbeam_erlang", "ERROR"):
            self.node.send((Atom("call"), 99, "echo"))
            deadline = time.monotonic() + 5
            while not any(f[:2] == (Atom("reply"), 99) for f in self.node.frames):
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.01)
        reply = [f for f in self.node.frames if f[:2] == (Atom("reply"), 99)][0]
        self.assertEqual(reply[2][0], ERROR)
        self.assertEqual(reply[2][1][0], Atom("bad_request"))

    def test_generator_result_of_a_call_is_a_list(self) -> None:
        self.add("gen", lambda action, n: (i for i in range(n)))
        self.assertEqual(self.node.call("gen", "range", [3], {}), (OK, [0, 1, 2]))

    def test_concurrent_calls(self) -> None:
        release = threading.Event()
        self.add("slow", lambda action: release.wait(5))
        slow = self.node.call_async("slow", "wait", [], {})
        self.assertEqual(self.node.call("svc", "add", [2, 2], {}, timeout=2), (OK, 4))
        self.assertFalse(slow.done())
        release.set()
        self.assertEqual(slow.result(5), (OK, True))


class TestStreamsToNode(Linked):
    """Python hooks stream to the node under credit."""

    def test_credit_window(self) -> None:
        self.add("gen", lambda action, n: iter(range(n)))
        probe = self.node.stream("gen", "range", [5], {}, 2)
        self.assertEqual(probe.wait_chunks(2), [0, 1])
        time.sleep(0.1)
        self.assertEqual(len(probe.chunks), 2)
        probe.credit(3)
        self.assertEqual(probe.end.result(5), (Atom("done"), probe.id))
        self.assertEqual(probe.chunks, [0, 1, 2, 3, 4])

    def test_batches(self) -> None:
        self.add("gen", lambda action, n: iter(range(n)))
        probe = self.node.stream("gen", "range", [2000], {}, 5000)
        probe.end.result(5)
        self.assertEqual(probe.chunks, list(range(2000)))
        self.assertIn(Atom("chunks"), [f[0] for f in probe.frames])
        self.assertLess(len(probe.frames), 2000)

    def test_plain_value_streams_once(self) -> None:
        self.add("one", lambda action: "only")
        probe = self.node.stream("one", "x", [], {}, 1)
        self.assertEqual(probe.end.result(5)[0], Atom("done"))
        self.assertEqual(probe.chunks, ["only"])

    def test_cancel_closes_the_generator(self) -> None:
        closed = threading.Event()

        def forever(action: str) -> Iterator[int]:
            try:
                n = 0
                while True:
                    yield n
                    n += 1
            finally:
                closed.set()
        self.add("forever", forever)
        probe = self.node.stream("forever", "count", [], {}, 3)
        probe.wait_chunks(3)
        probe.cancel()
        self.assertTrue(closed.wait(5))
        time.sleep(0.05)
        self.assertEqual(len(probe.chunks), 3)
        self.assertFalse(probe.end.done())

    def test_error_mid_stream(self) -> None:
        def broken(action: str) -> Iterator[int]:
            yield 1
            raise KeyError("gone")
        self.add("broken", broken)
        probe = self.node.stream("broken", "x", [], {}, 10)
        end = probe.end.result(5)
        self.assertEqual(probe.chunks, [1])
        self.assertEqual(end[:2], (ERROR, probe.id))
        self.assertEqual(end[2][:2], (Atom("python"), "KeyError"))

    def test_unknown_action(self) -> None:
        self.add("svc", Service)
        probe = self.node.stream("svc", "_secret", [], {}, 10)
        self.assertEqual(probe.end.result(5),
                         (ERROR, probe.id, (Atom("unknown_action"), "_secret")))


class TestRequestsToNode(Linked):
    """Python calls the node: execute, async tasks, streams."""

    def setUp(self) -> None:
        super().setUp()
        self.node.go_hooks["calc"] = lambda action, a, b: a + b if action == "add" else 1 / 0
        self.node.go_hooks["numbers"] = lambda action, n: iter(range(n))

    def test_execute(self) -> None:
        self.assertEqual(self.conn.execute("calc", "add", [1, 2], {}), 3)

    def test_execute_error(self) -> None:
        with self.assertRaises(HookError) as ctx:
            self.conn.execute("calc", "div", [1, 0], {})
        self.assertEqual(ctx.exception.kind, Atom("go"))
        self.assertIn("division", ctx.exception.detail)
        with self.assertRaises(HookError) as ctx:
            self.conn.execute("nobody", "x", [], {})
        self.assertEqual((ctx.exception.kind, ctx.exception.detail), (Atom("not_found"), "nobody"))

    def test_async(self) -> None:
        task = self.conn.execute_async("calc", "add", [2, 3], {})
        self.assertEqual(self.conn.await_result(task, 5000), 5)

    def test_async_timeout(self) -> None:
        release = threading.Event()
        self.node.go_hooks["slow"] = lambda action: release.wait(5)
        task = self.conn.execute_async("slow", "x", [], {})
        with self.assertRaises(HookError) as ctx:
            self.conn.await_result(task, 50)
        self.assertEqual(ctx.exception.kind, Atom("timeout"))
        release.set()
        self.assertTrue(self.conn.await_result(task, 5000))

    def test_stream(self) -> None:
        self.assertEqual(list(self.conn.stream("numbers", "range", [100], {}, 8)),
                         list(range(100)))
        credits = [f for f in self.node.frames if f[0] == "credit"]
        self.assertTrue(credits)
        self.assertTrue(all(f[2] >= 4 for f in credits))

    def test_stream_close_cancels(self) -> None:
        gen = self.conn.stream("numbers", "range", [1000], {}, 4)
        self.assertEqual([next(gen), next(gen)], [0, 1])
        gen.close()
        deadline = time.monotonic() + 5
        while not any(f[0] == "cancel" for f in self.node.frames):
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)
        producer = list(self.node._producers.values())[0]
        while producer.closed is None:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)
        self.assertTrue(producer.closed)

    def test_stream_async(self) -> None:
        async def collect() -> Any:
            got = []
            async for chunk in self.conn.stream_async("numbers", "range", [50], {}, 4):
                got.append(chunk)
            return got
        self.assertEqual(asyncio.run(collect()), list(range(50)))

    def test_stream_async_close_cancels(self) -> None:
        async def first_three() -> Any:
            gen = self.conn.stream_async("numbers", "range", [1000], {}, 4)
            got = [await gen.__anext__() for _ in range(3)]
            await gen.aclose()
            return got
        self.assertEqual(asyncio.run(first_three()), [0, 1, 2])
        deadline = time.monotonic() + 5
        while not any(f[0] == "cancel" for f in self.node.frames):
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)


class TestReentrancy(Linked):
    """Python to node to Python, in the same process, without deadlock."""

    def test_nested(self) -> None:
        conn = self.conn

        def outer(action: str, depth: int) -> Any:
            if depth == 0:
                return "bottom"
            return ["level", depth, conn.execute("outer", "down", [depth - 1], {})]
        self.add("outer", outer)
        got = self.conn.execute("outer", "down", [3], {})
        self.assertEqual(got, ["level", 3, ["level", 2, ["level", 1, "bottom"]]])

    def test_nested_call_runs_on_the_waiting_thread(self) -> None:
        conn = self.conn
        threads = []

        def outer(action: str) -> Any:
            threads.append(threading.get_ident())
            return conn.execute("inner", "x", [], {})
        self.add("outer", outer)
        self.add("inner", lambda action: threads.append(threading.get_ident()) or "inner")
        self.assertEqual(self.node.call("outer", "x", [], {}), (OK, "inner"))
        self.assertEqual(len(set(threads)), 1, threads)

    def test_slow_nested_call_does_not_hold_up_others(self) -> None:
        conn = self.conn
        release = threading.Event()
        self.add("svc", Service)
        self.add("slow", lambda action: release.wait(5))
        self.add("outer", lambda action: conn.execute("slow", "x", [], {}))
        outer = self.node.call_async("outer", "x", [], {})
        time.sleep(0.05)
        self.assertEqual(self.node.call("svc", "add", [2, 2], {}, timeout=2), (OK, 4))
        self.assertFalse(outer.done())
        release.set()
        self.assertEqual(outer.result(5), (OK, True))

    def test_many_concurrent_nested(self) -> None:
        conn = self.conn
        self.add("inner", lambda action, x: x * 2)
        self.add("outer", lambda action, x: conn.execute("inner", "double", [x], {}) + 1)
        results = [None] * 20

        def run(i: int) -> None:
            results[i] = self.node.call("outer", "go", [i], {}, timeout=10)
        threads = [threading.Thread(target=run, args=(i,)) for i in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(15)
        self.assertEqual(results, [(OK, 2 * i + 1) for i in range(20)])


class TestClose(Linked):
    """EOF from the node fails what waits and ends the connection."""

    def test_eof_fails_pending(self) -> None:
        release = threading.Event()
        self.node.go_hooks["slow"] = lambda action: release.wait(5)
        errors = []

        def call() -> None:
            try:
                self.conn.execute("slow", "x", [], {})
            except HookError as exc:
                errors.append(exc)
        thread = threading.Thread(target=call)
        thread.start()
        time.sleep(0.05)
        self.node.port.close()
        thread.join(5)
        release.set()
        self.assertTrue(self.conn.wait_closed(5))
        self.assertEqual([e.kind for e in errors], [Atom("closed")])
        with self.assertRaises(HookError):
            self.conn.execute("slow", "x", [], {})


class TestApiWithNode(Linked):
    """The module-level API routes through the connection it is given."""

    use_api_registry = True

    def setUp(self) -> None:
        super().setUp()
        api.use_connection(self.conn)
        self.addCleanup(api.use_connection, None)
        self.addCleanup(api.registry.remove, "api.echo")
        self.node.go_hooks["calc"] = lambda action, a, b: a + b
        self.node.go_hooks["numbers"] = lambda action, n: iter(range(n))

    def test_register_and_execute(self) -> None:
        api.register_hook("api.echo", echo)
        self.assertIn("api.echo", self.node.registered)
        self.assertEqual(api.execute("api.echo", "x", 1, key="v"), ["x", [1], {"key": "v"}])
        self.assertEqual(api.execute("calc", "add", 1, 2), 3)
        self.assertEqual(list(api.stream("numbers", "range", 3)), [0, 1, 2])
        api.unregister_hook("api.echo")
        self.assertNotIn("api.echo", self.node.registered)


class TestAttach(unittest.TestCase):
    """How a process finds its node: fds, HORNBEAM_SOCKET, the default socket, or none."""

    def setUp(self) -> None:
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.env = {"TMPDIR": tmp.name}
        self.path = os.path.join(tmp.name, "hornbeam-%d.sock" % os.getuid())

    def listen(self) -> socket.socket:
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(server.close)
        server.bind(self.path)
        server.listen(1)
        return server

    def test_default_socket(self) -> None:
        self.assertEqual(default_socket(self.env), self.path)
        self.assertEqual(default_socket({}), "/tmp/hornbeam-%d.sock" % os.getuid())

    def test_nothing_to_attach_to_is_local_mode(self) -> None:
        self.assertIsNone(attach(Registry(), self.env))

    def test_a_stale_default_socket_is_local_mode(self) -> None:
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(stale.close)
        stale.bind(self.path)
        self.assertIsNone(attach(Registry(), self.env))

    def test_the_default_socket(self) -> None:
        server = self.listen()
        conn = attach(Registry(), self.env)
        self.assertIsNotNone(conn)
        self.addCleanup(conn.close)  # type: ignore[union-attr]
        peer, _ = server.accept()
        node = FakeNode(Port.from_socket(peer))
        self.addCleanup(node.port.close)
        self.assertEqual(node.hello.result(5)[0], Atom("hello"))

    def test_hornbeam_socket_must_be_reachable(self) -> None:
        self.listen()
        env = dict(self.env, HORNBEAM_SOCKET=self.path + ".missing")
        with self.assertRaises(OSError):
            attach(Registry(), env)

    def test_unattached_error_says_where_it_looked(self) -> None:
        err = unattached_error("demo.echo", self.env)
        self.assertEqual(err.kind, Atom("no_node"))
        self.assertIn("'demo.echo'", err.detail)
        self.assertIn(self.path, err.detail)
        self.assertIn("make demo", err.detail)


if __name__ == "__main__":
    unittest.main()
