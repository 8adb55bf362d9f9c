"""Waiting for something another thread or process does, bounded, with a useful failure."""

import time
from collections.abc import Callable, Iterable
from typing import Any


def eventually(
    check: Callable[[], Any],
    *,
    timeout: float = 10.0,
    interval: float = 0.01,
    what: str | Callable[[], str] | None = None,
    logs: Iterable = (),
) -> Any:
    """Poll `check` until it returns something truthy, and return that.

    On timeout the failure names `what` (or the check; a callable is asked then) and shows the
    tail of each process's log in `logs` (objects with `name` and `log()`).
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            tails = "".join(f"\n--- {p.name} ---\n{p.log()[-4000:]}" for p in logs)
            said = what() if callable(what) else what
            raise AssertionError(f"{said or check} not reached within {timeout} s{tails}")
        time.sleep(interval)
