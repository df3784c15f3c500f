"""Tests of handler kinds, dispatch, the result rule and error terms."""

import asyncio
import unittest
from typing import Iterator

from hornbeam_erlang.etf import Atom
from hornbeam_erlang.hooks import Hook, HookError, Registry, error_term, is_stream, outcome

OK = Atom("ok")
ERROR = Atom("error")


class Counter:
    """A class handler with state, a static method and a property."""

    instances = 0

    def __init__(self) -> None:
        Counter.instances += 1
        self.n = 0

    def incr(self, by: int = 1) -> int:
        self.n += by
        return self.n

    @staticmethod
    def version() -> str:
        return "1"

    @property
    def explode(self) -> int:
        raise AssertionError("properties are not run when listing actions")

    def _hidden(self) -> str:
        return "no"

    def stream(self, n: int) -> Iterator[int]:
        yield from range(n)


class CallableWithMethods:
    """An instance that is callable and has public methods: an instance handler."""

    def __call__(self, action: str) -> str:
        return "called"

    def ping(self) -> str:
        return "pong"


class TestKinds(unittest.TestCase):
    """Which kind a handler is and which actions it offers."""

    def test_function(self) -> None:
        hook = Hook("f", lambda action, *args, **kwargs: (action, args, kwargs))
        self.assertEqual((hook.kind, hook.actions), ("function", None))
        self.assertEqual(hook.call("go", [1, 2], {"k": 3}), ("go", (1, 2), {"k": 3}))

    def test_class_is_instantiated_once(self) -> None:
        before = Counter.instances
        hook = Hook("c", Counter)
        self.assertEqual(Counter.instances, before + 1)
        self.assertEqual((hook.kind, hook.actions), ("class", ["incr", "stream", "version"]))
        self.assertEqual(hook.call("incr", [], {}), 1)
        self.assertEqual(hook.call("incr", [], {"by": 5}), 6)
        self.assertEqual(hook.call("version", [], {}), "1")
        self.assertEqual(Counter.instances, before + 1)

    def test_instance(self) -> None:
        counter = Counter()
        hook = Hook("i", counter)
        self.assertEqual(hook.kind, "instance")
        hook.call("incr", [2], {})
        self.assertEqual(counter.n, 2)

    def test_callable_instance_with_methods(self) -> None:
        hook = Hook("ci", CallableWithMethods())
        self.assertEqual((hook.kind, hook.actions), ("instance", ["ping"]))
        self.assertEqual(hook.call("ping", [], {}), "pong")

    def test_bad_app_path(self) -> None:
        for app_path in ("", b"x", None):
            with self.subTest(app_path=app_path):
                with self.assertRaises(ValueError):
                    Hook(app_path, Counter)  # type: ignore[arg-type]


class TestDispatch(unittest.TestCase):
    """Actions, arguments and refusals."""

    def setUp(self) -> None:
        self.hook = Hook("c", Counter)

    def test_refused(self) -> None:
        for action in ("_hidden", "__init__", "__class__", "missing", "n", b"incr", 7):
            with self.subTest(action=action):
                with self.assertRaises(HookError) as ctx:
                    self.hook.call(action, [], {})
                self.assertEqual(ctx.exception.reason, (Atom("unknown_action"), action))

    def test_function_refuses_underscore(self) -> None:
        with self.assertRaises(HookError):
            Hook("f", lambda action: action).call("_x", [], {})

    def test_atom_action(self) -> None:
        self.assertEqual(self.hook.call(Atom("incr"), [], {}), 1)

    def test_kwargs_keys(self) -> None:
        hook = Hook("f", lambda action, **kwargs: kwargs)
        got = hook.call("x", [], {Atom("a"): 1, "b": 2, b"c": 3})
        self.assertEqual(got, {"a": 1, "b": 2, "c": 3})
        self.assertTrue(all(type(k) is str for k in got))
        for bad in ({1: 2}, {b"\xff": 1}, [("a", 1)]):
            with self.subTest(kwargs=bad):
                with self.assertRaises(HookError) as ctx:
                    hook.call("x", [], bad)
                self.assertEqual(ctx.exception.kind, "badarg")

    def test_stream_result(self) -> None:
        value = self.hook.call("stream", [3], {})
        self.assertTrue(is_stream(value))
        self.assertEqual(list(value), [0, 1, 2])
        for plain in ([1], "s", {"a": 1}, (1, 2), None):
            self.assertFalse(is_stream(plain))


class TestOutcome(unittest.TestCase):
    """The result rule and exceptions."""

    def test_result_rule(self) -> None:
        cases = [
            ((OK, 1), (OK, 1)),
            ((ERROR, "why"), (ERROR, "why")),
            (("ok", 1), (OK, ("ok", 1))),
            ((OK, 1, 2), (OK, (OK, 1, 2))),
            ({"error": "e"}, (OK, {"error": "e"})),
            (None, (OK, None)),
        ]
        for value, want in cases:
            with self.subTest(value=value):
                self.assertEqual(outcome(lambda: value), want)

    def test_exception(self) -> None:
        def fail() -> None:
            raise ValueError("bad %r" % "x")
        status, reason = outcome(fail)
        self.assertEqual(status, ERROR)
        self.assertEqual(reason[:3], (Atom("python"), "ValueError", "bad 'x'"))
        self.assertIn("in fail", reason[3])
        self.assertTrue(all(type(part) is str for part in reason[1:]))

    def test_hook_error_passes_through(self) -> None:
        def fail() -> None:
            raise HookError(Atom("timeout"))
        self.assertEqual(outcome(fail), (ERROR, Atom("timeout")))

    def test_coroutine(self) -> None:
        async def handler() -> int:
            await asyncio.sleep(0)
            return 42
        self.assertEqual(outcome(handler), (OK, 42))


class TestHookError(unittest.TestCase):
    """HookError's reason, kind and detail."""

    def test_fields(self) -> None:
        cases = [
            (Atom("timeout"), "timeout", None),
            ((Atom("not_found"), "x"), "not_found", "x"),
            ((Atom("python"), "E", "m", "tb"), "python", ("E", "m", "tb")),
            ("text", None, None),
            (("a", "b"), None, None),
        ]
        for reason, kind, detail in cases:
            with self.subTest(reason=reason):
                exc = HookError(reason)
                self.assertIsInstance(exc, RuntimeError)
                self.assertEqual((exc.reason, exc.kind, exc.detail), (reason, kind, detail))

    def test_kind_and_detail(self) -> None:
        exc = HookError("worker_exit", "killed")
        self.assertEqual(exc.reason, (Atom("worker_exit"), "killed"))
        self.assertIs(exc.kind, Atom("worker_exit"))

    def test_message(self) -> None:
        self.assertEqual(str(HookError((Atom("python"), "ValueError", "m", "tb"))), "ValueError: m")
        self.assertEqual(str(HookError("not_found", "x")), "not_found: 'x'")

    def test_error_term(self) -> None:
        self.assertEqual(error_term(HookError("k", 1)), (Atom("k"), 1))


class TestRegistry(unittest.TestCase):
    """Registering and finding hooks."""

    def test_get(self) -> None:
        registry = Registry()
        hook = Hook("a", Counter)
        registry.add(hook)
        self.assertIs(registry.get("a"), hook)
        self.assertEqual(registry.all(), [hook])
        self.assertIs(registry.remove("a"), hook)
        for missing in ("a", b"a", None):
            with self.subTest(app_path=missing):
                with self.assertRaises(HookError) as ctx:
                    registry.get(missing)
                self.assertEqual(ctx.exception.reason, (Atom("not_found"), missing))


if __name__ == "__main__":
    unittest.main()
