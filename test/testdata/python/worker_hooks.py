"""A hook that tells its worker's pid and one that hangs, to kill a worker mid-call (test/python_test.go)."""

import os
import time

from hornbeam_erlang import register_hook


def process_handler(action, *args):
    """'pid' returns the worker's pid; 'hang' [Path] creates Path, then sleeps a minute."""
    if action == 'pid':
        return os.getpid()
    if action == 'hang':
        with open(args[0], 'w'):
            pass
        time.sleep(60)
        return 'woke'
    raise ValueError(f"Unknown action: {action}")


register_hook('proc', process_handler)
