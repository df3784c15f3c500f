"""Lifecycle hooks around the calls of this process (docs/lifecycle.md).

Every case runs twice: in local mode (the handler is registered here) and
through a Connection to a FakeNode (the handler is one of its "Go" hooks),
so the hooks wrap the remote call. The handler counts its calls, so a
halted or refused call can be seen not to reach it.
"""

import asyncio
import itertools
import logging
import re
import socket
import time
import types
import unittest
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from hornbeam_erlang import (
    Atom,
    HookError,
    api,
    await_result,
    cont,
    error,
    execute,
    execute_async,
    halt,
    stream,
    stream_async,
    use_hooks,
    with_hooks,
)
from hornbeam_erlang.connection import Connection
from hornbeam_erlang.hooks import Registry
from hornbeam_erlang.port import Port
from tests.fake_node import FakeNode

HOOK = Atom("hook")
TRANSFORMING = ("on_call_start", "on_call_end", "on_stream_start")
DOC = Path(__file__).resolve().parents[2] / "docs" / "lifecycle.md"


class Handler:
    """The hook ``lc``: counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, action: str, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if action == "add":
            return sum(args)
        if action == "echo":
            return [action, list(args), kwargs]
        if action == "fail":
            raise ValueError("failed")
        if action == "sleep":
            time.sleep(args[0] / 1000)
            return "slept"
        if action == "count":
            return iter(range(args[0]))
        if action == "endless":
            return itertools.count()
        if action == "crash_after":
            return self._crash_after()
        raise ValueError("unknown action %r" % (action,))

    @staticmethod
    def _crash_after() -> Iterator[int]:
        yield 1
        yield 2
        raise RuntimeError("crashed")


class Recorder:
    """A hook that appends ``(name, callback, value)`` to ``trail``, then runs ``do[callback]`` or passes on."""

    def __init__(self, name: str, trail: List[Tuple[str, str, Any]], **do: Callable[..., Any]) -> None:
        self.name = name
        self.trail = trail
        self.do = do

    def _run(self, callback: str, value: Any, *args: Any) -> Any:
        self.trail.append((self.name, callback, value))
        fn = self.do.get(callback)
        if fn is not None:
            return fn(*args)
        return cont(value) if callback in TRANSFORMING else None

    def on_call_start(self, call: Any, request: Any, context: Any) -> Any:
        return self._run("on_call_start", request, call, request, context)

    def on_call_end(self, call: Any, result: Any, context: Any) -> Any:
        return self._run("on_call_end", result, call, result, context)

    def on_call_error(self, call: Any, reason: Any, context: Any) -> Any:
        return self._run("on_call_error", reason, call, reason, context)

    def on_stream_start(self, call: Any, request: Any, context: Any) -> Any:
        return self._run("on_stream_start", request, call, request, context)

    def on_stream_chunk(self, call: Any, chunk: Any, context: Any) -> Any:
        return self._run("on_stream_chunk", chunk, call, chunk, context)

    def on_stream_end(self, call: Any, context: Any) -> Any:
        return self._run("on_stream_end", None, call, context)


class Bare:
    """A hook with no callbacks at all."""


def callbacks(trail: List[Tuple[str, str, Any]], name: Optional[str] = None) -> List[str]:
    return [c for n, c, _ in trail if name is None or n == name]


class Cases:
    """The cases; a subclass provides the mode (setUp) and ``node_error``."""

    handler: Handler

    def setUp(self) -> None:
        self.trail: List[Tuple[str, str, Any]] = []
        self.addCleanup(use_hooks, [])

    def hook(self, name: str = "h", **do: Callable[..., Any]) -> Recorder:
        return Recorder(name, self.trail, **do)

    def test_cont_transforms_args(self: Any) -> None:
        def start(call: Any, request: Any, context: Any) -> Any:
            action, args, kwargs = request
            return cont(("echo", [a * 10 for a in args], dict(kwargs, seen=True)))
        result = with_hooks(self.hook(on_call_start=start)).execute("lc", "add", 1, 2)
        self.assertEqual(result, ["echo", [10, 20], {"seen": True}])
        self.assertEqual(self.handler.calls, 1)
        self.assertEqual(self.trail[0], ("h", "on_call_start", ("add", [1, 2], {})))

    def test_halt_short_circuits(self: Any) -> None:
        caller = with_hooks(self.hook(on_call_start=lambda *a: halt("cached"),
                                      on_stream_start=lambda *a: halt(["a", "b"])), self.hook("later"))
        self.assertEqual(caller.execute("lc", "add", 1, 2), "cached")
        self.assertEqual(list(caller.stream("lc", "count", 5)), ["a", "b"])
        task = caller.execute_async("lc", "add", 1, 2)
        self.assertEqual(caller.await_result(task), "cached")
        self.assertEqual(self.handler.calls, 0)
        self.assertEqual(callbacks(self.trail), ["on_call_start", "on_stream_start", "on_call_start"])

    def test_error_aborts(self: Any) -> None:
        caller = with_hooks(self.hook(on_call_start=lambda *a: error(Atom("denied")),
                                      on_stream_start=lambda *a: ("error", "no streams")), self.hook("later"))
        with self.assertRaises(HookError) as ctx:
            caller.execute("lc", "add", 1, 2)
        self.assertEqual(ctx.exception.reason, Atom("denied"))
        with self.assertRaises(HookError) as ctx:
            list(caller.stream("lc", "count", 3))
        self.assertEqual(ctx.exception.reason, "no streams")
        with self.assertRaises(HookError):
            caller.execute_async("lc", "add", 1, 2)
        self.assertEqual(self.handler.calls, 0)
        self.assertEqual(callbacks(self.trail), ["on_call_start", "on_stream_start", "on_call_start"])

    def test_end_transforms(self: Any) -> None:
        double = self.hook(on_call_end=lambda call, v, ctx: cont(v * 2))
        plus_one = self.hook("plus", on_call_end=lambda call, v, ctx: cont(v + 1))
        self.assertEqual(with_hooks(double, plus_one).execute("lc", "add", 1, 2), 7)
        replace = self.hook(on_call_end=lambda *a: halt("replaced"))
        self.assertEqual(with_hooks(replace, plus_one).execute("lc", "add", 1, 2), "replaced")
        reject = self.hook(on_call_end=lambda *a: error("rejected"))
        with self.assertRaises(HookError) as ctx:
            with_hooks(reject).execute("lc", "add", 1, 2)
        self.assertEqual(ctx.exception.reason, "rejected")
        self.assertEqual(self.handler.calls, 3)

    def test_missing_callbacks_pass_through(self: Any) -> None:
        module = types.ModuleType("bare_hooks")
        caller = with_hooks(Bare(), Bare, module, types.SimpleNamespace())
        self.assertEqual(caller.execute("lc", "add", 1, 2), 3)
        self.assertEqual(list(caller.stream("lc", "count", 3)), [0, 1, 2])
        self.assertEqual(caller.await_result(caller.execute_async("lc", "add", 2, 2)), 4)
        with self.assertRaises(HookError):
            caller.execute("lc", "fail")
        only_chunks = types.SimpleNamespace(on_stream_chunk=lambda call, c, ctx: self.trail.append(c))
        self.assertEqual(list(with_hooks(only_chunks).stream("lc", "count", 2)), [0, 1])
        self.assertEqual(self.trail, [0, 1])

    def test_client_level_before_per_call(self: Any) -> None:
        contexts: List[Dict[str, Any]] = []

        def first(call: Any, request: Any, context: Any) -> Any:
            context["seen"] = context.get("seen", 0) + 1
            contexts.append(context)
            return cont((request[0], request[1] + [1], request[2]))
        self.assertEqual(use_hooks([self.hook("client", on_call_start=first)]), [])
        per_call = self.hook("call", on_call_start=lambda call, r, ctx: cont((r[0], r[1] + [2], r[2])))
        caller = with_hooks(per_call, user="ada")
        self.assertEqual(caller.execute("lc", "add"), 3)
        self.assertEqual(caller.execute("lc", "add"), 3)
        self.assertEqual([(n, c) for n, c, _ in self.trail], [
            ("client", "on_call_start"), ("call", "on_call_start"),
            ("client", "on_call_end"), ("call", "on_call_end")] * 2)
        self.assertEqual(contexts, [{"user": "ada", "seen": 1}, {"user": "ada", "seen": 1}])
        self.assertEqual(caller.context, {"user": "ada"})
        del self.trail[:]
        self.assertEqual(execute("lc", "add"), 1)
        self.assertEqual(callbacks(self.trail), ["on_call_start", "on_call_end"])
        self.assertEqual(contexts[-1], {"seen": 1})
        self.assertEqual(len(use_hooks([])), 1)
        self.assertEqual(execute("lc", "add", 5), 5)

    def test_client_level_on_every_function(self: Any) -> None:
        use_hooks((self.hook(),))

        async def run() -> List[int]:
            return [c async for c in stream_async("lc", "count", 2)]
        self.assertEqual(list(stream("lc", "count", 2)), [0, 1])
        self.assertEqual(await_result(execute_async("lc", "add", 1, 1)), 2)
        self.assertEqual(asyncio.run(run()), [0, 1])
        streamed = ["on_stream_start", "on_stream_chunk", "on_stream_chunk", "on_stream_end"]
        self.assertEqual(callbacks(self.trail), streamed + ["on_call_start", "on_call_end"] + streamed)

    def test_handler_kwargs_untouched(self: Any) -> None:
        caller = with_hooks(self.hook())
        self.assertEqual(caller.execute("lc", "echo", hooks=[1], context="c"),
                         ["echo", [], {"hooks": [1], "context": "c"}])

    def test_on_call_error_fires(self: Any) -> None:
        caller = with_hooks(self.hook())
        with self.assertRaises(HookError) as ctx:
            caller.execute("lc", "fail")
        with self.assertRaises(HookError) as missing:
            caller.execute("nobody", "x")
        self.assertEqual([v for _, c, v in self.trail if c == "on_call_error"],
                         [ctx.exception.reason, missing.exception.reason])
        self.assertEqual(callbacks(self.trail), ["on_call_start", "on_call_error"] * 2)

    def test_stream_chunks_once_in_order(self: Any) -> None:
        caller = with_hooks(self.hook("a"), self.hook("b"))
        self.assertEqual(list(caller.stream("lc", "count", 100)), list(range(100)))
        for name in ("a", "b"):
            self.assertEqual([v for n, c, v in self.trail if n == name and c == "on_stream_chunk"],
                             list(range(100)))
            self.assertEqual(callbacks(self.trail, name).count("on_stream_end"), 1)
        self.assertEqual(self.trail[-2:], [("a", "on_stream_end", None), ("b", "on_stream_end", None)])

    def test_stream_end_once_on_early_close(self: Any) -> None:
        caller = with_hooks(self.hook())
        chunks = caller.stream("lc", "endless")
        self.assertEqual([next(chunks), next(chunks), next(chunks)], [0, 1, 2])
        chunks.close()
        chunks.close()
        for chunk in caller.stream("lc", "endless"):
            if chunk == 1:
                break
        self.assertEqual(self.trail, [
            ("h", "on_stream_start", ("endless", [], {})),
            ("h", "on_stream_chunk", 0), ("h", "on_stream_chunk", 1), ("h", "on_stream_chunk", 2),
            ("h", "on_stream_end", None),
            ("h", "on_stream_start", ("endless", [], {})),
            ("h", "on_stream_chunk", 0), ("h", "on_stream_chunk", 1),
            ("h", "on_stream_end", None)])
        self.assert_producers_stopped(2)

    def test_stream_async(self: Any) -> None:
        caller = with_hooks(self.hook())

        async def run() -> Tuple[List[int], List[int]]:
            whole = [c async for c in caller.stream_async("lc", "count", 5)]
            chunks = caller.stream_async("lc", "endless")
            first = [await chunks.__anext__(), await chunks.__anext__()]
            await chunks.aclose()
            return whole, first
        whole, first = asyncio.run(run())
        self.assertEqual((whole, first), ([0, 1, 2, 3, 4], [0, 1]))
        self.assertEqual(callbacks(self.trail), ["on_stream_start"] + ["on_stream_chunk"] * 5 + ["on_stream_end"]
                         + ["on_stream_start"] + ["on_stream_chunk"] * 2 + ["on_stream_end"])
        self.assert_producers_stopped(1)

    def test_crashing_hook_gives_hook_error(self: Any) -> None:
        def boom(*args: Any) -> Any:
            raise RuntimeError("boom")
        crashing = self.hook(on_call_start=boom)
        with self.assertRaises(HookError) as ctx:
            with_hooks(crashing, self.hook("later")).execute("lc", "add", 1)
        kind, name, (callback, why) = ctx.exception.reason
        self.assertEqual((kind, name, callback), (HOOK, "tests.test_lifecycle.Recorder", "on_call_start"))
        self.assertEqual(why[:3], ("python", "RuntimeError", "boom"))
        self.assertEqual(ctx.exception.kind, "hook")
        bad = self.hook(on_call_start=lambda *a: cont("not a request"))
        with self.assertRaises(HookError) as ctx:
            with_hooks(bad).execute("lc", "add", 1)
        self.assertEqual(ctx.exception.reason, (HOOK, "tests.test_lifecycle.Recorder",
                                                (Atom("on_call_start"), (Atom("bad_return"), ("cont", "not a request")))))
        junk = self.hook(on_call_end=lambda *a: None)
        with self.assertRaises(HookError) as ctx:
            with_hooks(junk).execute("lc", "add", 1)
        self.assertEqual(ctx.exception.reason[2], (Atom("on_call_end"), (Atom("bad_return"), None)))
        chunky = self.hook(on_stream_start=lambda *a: halt("not a list"))
        with self.assertRaises(HookError) as ctx:
            list(with_hooks(chunky).stream("lc", "count", 1))
        self.assertEqual(ctx.exception.reason[2][0], "on_stream_start")
        self.assertEqual(self.handler.calls, 1)

    def test_crashing_observer_is_ignored(self: Any) -> None:
        def boom(*args: Any) -> Any:
            raise RuntimeError("observer")
        caller = with_hooks(self.hook(on_stream_chunk=boom, on_stream_end=boom, on_call_error=boom),
                            self.hook("b"))
        with self.assertLogs("hornbeam_erlang.lifecycle", logging.WARNING) as logs:
            self.assertEqual(list(caller.stream("lc", "count", 3)), [0, 1, 2])
            with self.assertRaises(HookError):
                caller.execute("lc", "fail")
        self.assertEqual(len(logs.records), 5)
        self.assertIn("on_stream_chunk", logs.output[0])
        self.assertEqual(callbacks(self.trail, "b"),
                         ["on_stream_start", "on_stream_chunk", "on_stream_chunk", "on_stream_chunk",
                          "on_stream_end", "on_call_start", "on_call_error"])

    def test_async_hooks_run_at_await(self: Any) -> None:
        def start(call: Any, request: Any, context: Any) -> Any:
            action, args, kwargs = request
            return cont((action, [10] + args if action == "add" else args, kwargs))
        caller = with_hooks(self.hook(on_call_start=start, on_call_end=lambda call, v, ctx: cont(("ended", v))))
        task = caller.execute_async("lc", "add", 1)
        self.assertEqual(callbacks(self.trail), ["on_call_start"])
        self.assertEqual(await_result(task), ("ended", 11))
        slow = caller.execute_async("lc", "sleep", 300)
        with self.assertRaises(HookError) as ctx:
            await_result(slow, 10)
        self.assertEqual(ctx.exception.reason, Atom("timeout"))
        self.assertEqual(await_result(slow, 5000), ("ended", "slept"))
        failing = caller.execute_async("lc", "fail")
        with self.assertRaises(HookError) as ctx:
            await_result(failing, 5000)
        self.assertEqual(callbacks(self.trail), ["on_call_start", "on_call_end"] * 2
                         + ["on_call_start", "on_call_error"])
        self.assertEqual(self.handler.calls, 3)

    def assert_producers_stopped(self, cancelled: int) -> None:
        """Overridden where there are producers to see: all ended, ``cancelled`` of them early."""


class TestLocal(Cases, unittest.TestCase):
    """Local mode: the handler runs in-process."""

    def setUp(self) -> None:
        super().setUp()
        api.use_connection(None)
        self.handler = Handler()
        api.register_hook("lc", self.handler)
        self.addCleanup(api.registry.remove, "lc")

    def test_stream_fails_midway(self) -> None:
        chunks = with_hooks(self.hook()).stream("lc", "crash_after")
        self.assertEqual([next(chunks), next(chunks)], [1, 2])
        with self.assertRaises(HookError) as ctx:
            next(chunks)
        self.assertEqual(ctx.exception.reason[:3], ("python", "RuntimeError", "crashed"))
        self.assertEqual(callbacks(self.trail), ["on_stream_start", "on_stream_chunk", "on_stream_chunk",
                                                 "on_call_error", "on_stream_end"])


class TestThroughNode(Cases, unittest.TestCase):
    """The handler is a hook of the (fake) node; the hooks wrap the call over the link."""

    def setUp(self) -> None:
        super().setUp()
        left, right = socket.socketpair()
        self.conn = Connection(Port.from_socket(left), Registry())
        self.node = FakeNode(Port.from_socket(right))
        self.conn.start()
        self.addCleanup(self.node.port.close)
        self.addCleanup(self.conn.close)
        api.use_connection(self.conn)
        self.addCleanup(api.use_connection, None)
        self.handler = Handler()
        self.node.go_hooks["lc"] = self.handler

    def assert_producers_stopped(self, cancelled: int) -> None:
        producers = list(self.node._producers.values())
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(p.closed is None for p in producers):
            time.sleep(0.01)
        closed = [p.closed for p in producers]
        self.assertEqual((closed.count(None), closed.count(True)), (0, cancelled), closed)


class TestErrors(unittest.TestCase):
    """Bad hook lists are refused at once."""

    def test_bad_hooks(self) -> None:
        for bad in (Recorder("x", []), "tests.hooks", None):
            with self.assertRaises(TypeError):
                use_hooks(bad)
        with self.assertRaises(TypeError):
            with_hooks("tests.hooks")
        with self.assertRaises(TypeError):
            with_hooks(None)


class TestDoc(unittest.TestCase):
    """docs/lifecycle.md's Python snippet runs as written, in local mode."""

    def setUp(self) -> None:
        api.use_connection(None)
        self.addCleanup(use_hooks, [])
        self.calls = 0

        def calculator(action: str, a: int, b: int) -> int:
            self.calls += 1
            return a + b
        api.register_hook("demo.calculator", calculator)
        self.addCleanup(api.registry.remove, "demo.calculator")

    def test_snippet(self) -> None:
        (snippet,) = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
        with self.assertLogs("lifecycle_doc", logging.INFO) as logs:
            names: Dict[str, Any] = {"time": time, "log": logging.getLogger("lifecycle_doc")}
            exec(compile(snippet, str(DOC), "exec"), names)
        self.assertEqual(len(logs.records), 2)
        self.assertEqual(self.calls, 2)
        cache = names["Cache"]()
        cache.seen[("demo.calculator", "add", (2, 3))] = "cached"
        self.assertEqual(with_hooks(cache).execute("demo.calculator", "add", 2, 3), "cached")
        self.assertEqual(self.calls, 2)


if __name__ == "__main__":
    unittest.main()
