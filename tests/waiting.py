"""Waiting for something another thread or process does, bounded, with a useful failure."""

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.db import connection


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


def in_thread(
    fn: Callable[[], Any], outcome: dict, key: str, barrier: threading.Barrier | None = None
) -> threading.Thread:
    """Run `fn` in a thread with its own database connection (after `barrier`, if given);
    `outcome[key]` gets what it returned or raised."""

    def run():
        try:
            if barrier is not None:
                barrier.wait(10)
            outcome[key] = fn()
        except Exception as exc:  # reported to the test
            outcome[key] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def waiting_on_a_lock(*, query_prefix: str = "", wait_event: str = "") -> bool:
    """Whether another session of this database waits on a lock: for a statement starting
    with `query_prefix`, or of kind `wait_event` (`advisory`, `tuple`, ...)."""
    sql = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND query LIKE %s AND wait_event LIKE %s"
    )
    with connection.cursor() as cur:
        cur.execute(sql, [query_prefix + "%", wait_event or "%"])
        return cur.fetchone()[0] > 0
