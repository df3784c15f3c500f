"""A worker process the hornbeam node runs: ``python3 -m hornbeam_erlang.worker module[:function]``.

Spec: docs/python.md ("Workers")

The node starts the worker with ``HORNBEAM_PORT_FDS=3,4`` (or
``HORNBEAM_SOCKET``). The worker says ``hello``, imports ``module`` (whose
top level may call ``register_hook``), calls ``function()`` if given, says
``ready``, then serves calls until the node closes fd 3. It exits at once
on that EOF, so it never outlives the node. Logs go to stderr; stdout is
free for ``print``.
"""

import importlib
import logging
import os
import sys
from typing import List, Optional

from . import api
from .hooks import HookError

USAGE = "usage: python3 -m hornbeam_erlang.worker module[:function]"

log = logging.getLogger("hornbeam_erlang")


def main(argv: Optional[List[str]] = None) -> int:
    """Run the worker for ``argv[0]`` (``module[:function]``); return the exit status."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(USAGE, file=sys.stderr)
        return 2
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="hornbeam_erlang[%(process)d] %(levelname)s %(message)s")
    conn = api.connection()
    if conn is None:
        print("hornbeam_erlang.worker: neither HORNBEAM_PORT_FDS nor HORNBEAM_SOCKET is set",
              file=sys.stderr)
        return 2
    module_name, _, function_name = args[0].partition(":")
    try:
        module = importlib.import_module(module_name)
        if function_name:
            getattr(module, function_name)()
    except Exception:
        log.exception("hornbeam_erlang.worker: starting %s failed", args[0])
        return 1
    try:
        conn.ready()
    except HookError:
        return 0
    conn.wait_closed()
    return 0


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
