"""Tests of local mode: no node, hooks registered here run here."""

import asyncio
import threading
import unittest
from typing import Any, Iterator

from hornbeam_erlang import (
    HookError,
    await_result,
    execute,
    execute_async,
    register_hook,
    stream,
    stream_async,
    unregister_hook,
)
from hornbeam_erlang import api
from hornbeam_erlang.etf import Atom


class Local(unittest.TestCase):
    """Each test starts in local mode with an empty registry."""

    def setUp(self) -> None:
        api.use_connection(None)
        self.addCleanup(self._clear)

    def _clear(self) -> None:
        for hook in api.registry.all():
            api.registry.remove(hook.app_path)


class TestExecute(Local):
    """execute in-process."""

    def test_function(self) -> None:
        register_hook("calc", lambda action, a, b: a + b if action == "add" else a * b)
        self.assertEqual(execute("calc", "add", 2, 3), 5)
        self.assertEqual(execute("calc", "multiply", 2, 3), 6)

    def test_kwargs_named_like_parameters(self) -> None:
        register_hook("kw", lambda action, **kwargs: kwargs)
        self.assertEqual(execute("kw", "x", app_path="p"), {"app_path": "p"})

    def test_errors(self) -> None:
        register_hook("calc", lambda action: 1 / 0)
        with self.assertRaises(HookError) as ctx:
            execute("calc", "x")
        self.assertEqual(ctx.exception.kind, "python")
        self.assertEqual(ctx.exception.detail[0], "ZeroDivisionError")
        with self.assertRaises(HookError) as ctx:
            execute("nobody", "x")
        self.assertEqual(ctx.exception.kind, Atom("no_node"))
        self.assertIn("'nobody'", ctx.exception.detail)

    def test_error_tuple(self) -> None:
        register_hook("auth", lambda action: (Atom("error"), Atom("invalid_token")))
        with self.assertRaises(HookError) as ctx:
            execute("auth", "verify_token")
        self.assertEqual(ctx.exception.kind, "invalid_token")

    def test_unregister(self) -> None:
        register_hook("gone", lambda action: 1)
        unregister_hook("gone")
        with self.assertRaises(HookError):
            execute("gone", "x")


class TestAsync(Local):
    """execute_async and await_result in-process."""

    def test_await(self) -> None:
        register_hook("calc", lambda action, a: a * 2)
        task = execute_async("calc", "double", 21)
        self.assertEqual(await_result(task, timeout_ms=5000), 42)
        self.assertEqual(await_result(task, timeout_ms=5000), 42)

    def test_timeout_keeps_the_result(self) -> None:
        release = threading.Event()
        register_hook("slow", lambda action: release.wait(5))
        task = execute_async("slow", "wait")
        with self.assertRaises(HookError) as ctx:
            await_result(task, timeout_ms=20)
        self.assertEqual(ctx.exception.reason, Atom("timeout"))
        release.set()
        self.assertIs(await_result(task), True)

    def test_unknown_task(self) -> None:
        with self.assertRaises(HookError) as ctx:
            await_result("nope")
        self.assertEqual(ctx.exception.kind, "task_not_found")


class TestStream(Local):
    """stream and stream_async in-process."""

    def setUp(self) -> None:
        super().setUp()
        self.closed = threading.Event()

        def handler(action: str, n: int) -> Any:
            if action == "value":
                return n

            def gen() -> Iterator[int]:
                try:
                    yield from range(n)
                    if action == "fail":
                        raise KeyError("late")
                finally:
                    self.closed.set()
            return gen()
        register_hook("numbers", handler)

    def test_stream(self) -> None:
        self.assertEqual(list(stream("numbers", "range", 4)), [0, 1, 2, 3])
        self.assertEqual(list(stream("numbers", "value", 7)), [7])

    def test_close_early(self) -> None:
        gen = stream("numbers", "range", 100)
        self.assertEqual(next(gen), 0)
        gen.close()
        self.assertTrue(self.closed.is_set())

    def test_error(self) -> None:
        got = []
        with self.assertRaises(HookError) as ctx:
            for chunk in stream("numbers", "fail", 2):
                got.append(chunk)
        self.assertEqual(got, [0, 1])
        self.assertEqual(ctx.exception.detail[0], "KeyError")

    def test_stream_async(self) -> None:
        async def collect() -> Any:
            return [chunk async for chunk in stream_async("numbers", "range", 5)]
        self.assertEqual(asyncio.run(collect()), [0, 1, 2, 3, 4])


if __name__ == "__main__":
    unittest.main()
