"""Line up the stamps of bench/python_trace.sh into a per-step table.

Usage: python_trace.py CALLS STEPS [WORKER_STEPS ...]

CALLS has the BEAM caller's "before after" line per call; STEPS the node's
"step ns" lines (internal/steptrace); each WORKER_STEPS a Python worker's
(hornbeam_erlang/_steps.py). The last len(CALLS) marks of each kind belong to
the calls; the worker file with the most marks is the worker that served them.
A write's end may come after its reader has the data (the writer was preempted
after the wakeup), so each step after a write is measured from its start.
"""

import bisect
import sys
from typing import Dict, List, Optional, Sequence


def read_steps(path: str) -> Dict[str, List[int]]:
    """Return the stamps of each step in the file at ``path``, sorted."""
    steps: Dict[str, List[int]] = {}
    with open(path) as f:
        for line in f:
            step, at = line.split()
            steps.setdefault(step, []).append(int(at))
    for stamps in steps.values():
        stamps.sort()
    return steps


def first_after(stamps: Sequence[int], t: int) -> Optional[int]:
    """Return the first stamp at or after ``t``."""
    i = bisect.bisect_left(stamps, t)
    return stamps[i] if i < len(stamps) else None


def last_before(stamps: Sequence[int], t: int) -> Optional[int]:
    """Return the last stamp at or before ``t``."""
    i = bisect.bisect_right(stamps, t) - 1
    return stamps[i] if i >= 0 else None


def pct(values: List[int], q: float) -> float:
    """Return the ``q`` quantile of ``values`` in microseconds."""
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))] / 1000


STEPS = [
    ("BEAM sends -> node's socket read returns", "e0", "T"),
    ("-> hornbeam_hooks has the request", "T", "H"),
    ("-> pipe write to the worker starts", "H", "w"),
    ("pipe write to the worker (wakes it)", "w", "W"),
    ("write start -> worker has the frame", "w", "f"),
    ("worker decodes, calls, encodes", "f", "s"),
    ("worker's write (wakes the link's reader)", "s", "e"),
    ("worker's write start -> node's pipe read returns", "s", "p"),
    ("-> link has the reply", "p", "R"),
    ("-> reply write starts", "R", "r"),
    ("reply write to the BEAM (wakes it)", "r", "E"),
    ("reply write start -> BEAM has the reply", "r", "e1"),
    ("whole call", "e0", "e1"),
]


def line_up(e0: int, e1: int, hooks: int, node: Dict[str, List[int]],
            worker: Dict[str, List[int]]) -> Optional[Dict[str, int]]:
    """Return the stamps of the call made at ``e0`` whose request reached hornbeam_hooks at ``hooks``."""
    at = {"e0": e0, "e1": e1, "H": hooks}
    for step, src, after in (("T", node, None), ("w", node, "H"), ("W", node, "w"), ("f", worker, "w"),
                             ("s", worker, "f"), ("e", worker, "s"), ("R", node, "s"), ("p", node, None),
                             ("r", node, "R"), ("E", node, "r")):
        stamps = src.get(step, [])
        if step == "T":
            t = last_before(stamps, hooks)
        elif step == "p":
            t = last_before(stamps, at["R"])
        else:
            t = first_after(stamps, at[after])
        if t is None:
            return None
        at[step] = t
    return at


def main(argv: List[str]) -> None:
    """Print the table."""
    with open(argv[1]) as f:
        calls = [tuple(map(int, line.split())) for line in f if line.strip()]
    node = read_steps(argv[2])
    worker = max((read_steps(p) for p in argv[3:]), key=lambda s: len(s.get("f", [])), default={})
    n = len(calls)
    rows = [r for r in (line_up(e0, e1, h, node, worker) for (e0, e1), h in zip(calls, node.get("H", [])[-n:]))
            if r is not None]
    print("%d of %d calls lined up" % (len(rows), n))
    print("| step | p50 µs | p90 µs |")
    print("|---|---:|---:|")
    for name, a, b in STEPS:
        d = [r[b] - r[a] for r in rows]
        print("| %s | %.1f | %.1f |" % (name, pct(d, 0.5), pct(d, 0.9)))


if __name__ == "__main__":
    main(sys.argv)
