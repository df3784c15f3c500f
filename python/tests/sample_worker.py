"""A module for worker tests: ``python3 -m hornbeam_erlang.worker tests.sample_worker:setup``."""

import os
import time
from typing import Any, Iterator

from hornbeam_erlang import execute, register_hook


class Sample:
    """Actions the worker tests call."""

    def echo(self, value: Any) -> Any:
        print("stdout must not reach the frame channel")
        return value

    def pid(self) -> int:
        return os.getpid()

    def sleep(self, seconds: float) -> str:
        time.sleep(seconds)
        return "slept"

    def count(self, n: int) -> Iterator[int]:
        yield from range(n)

    def via_node(self, app_path: str, action: str, *args: Any) -> Any:
        return execute(app_path, action, *args)


def setup() -> None:
    """Register the sample hook."""
    register_hook("sample", Sample)
