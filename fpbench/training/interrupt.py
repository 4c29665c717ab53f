"""Ctrl-C held until the current training step is complete."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Any, Iterator


@contextmanager
def deferred_interrupt() -> Iterator[list[bool]]:
    """Hold Ctrl-C (SIGINT) until the caller checks the yielded flag, so a step is never cut in half and
    the state saved on interruption is one an uninterrupted run also passes through. Only Python's own
    Ctrl-C handling is taken over: off the main thread, or where SIGINT is ignored (a background job) or
    handled by someone else, nothing changes."""
    flag = [False]
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield flag
        return

    def hold(signum: int, frame: Any) -> None:
        flag[0] = True

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
