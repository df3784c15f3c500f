"""Step stamps for ``bench/python_trace.sh``.

With ``HORNBEAM_TRACE_FILE`` set, ``Port`` stamps each frame read and each
write with ``time.monotonic_ns`` (``CLOCK_MONOTONIC``, the clock of the
node's and the BEAM's stamps too), and SIGUSR1 writes the stamps to that
path plus ``.py.PID``, one ``step nanoseconds`` line each, and starts afresh.
Without it, ``ON`` is false and nothing is stamped.
"""

import os
import signal
import time
from typing import Any, List, Tuple

PATH = os.environ.get("HORNBEAM_TRACE_FILE", "")
ON = bool(PATH)
"""Whether stamps are taken."""

FRAME_READ = "f"
WRITE_START = "s"
WRITE_END = "e"

_marks: List[Tuple[str, int]] = []


def mark(step: str) -> None:
    """Stamp ``step`` with the time."""
    _marks.append((step, time.monotonic_ns()))


def _dump(signum: int, frame: Any) -> None:
    """Write the stamps so far and start afresh."""
    marks = _marks[:]
    del _marks[:len(marks)]
    with open("%s.py.%d" % (PATH, os.getpid()), "w") as out:
        out.writelines("%s %d\n" % m for m in marks)


if ON:
    try:
        signal.signal(signal.SIGUSR1, _dump)
    except ValueError:
        ON = False
