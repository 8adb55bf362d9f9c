"""Event-loop timing: per-key pacing (CPS, MPS) and one armed timer per call or message.

Nothing sleeps. Reserving a pacing slot only moves the key's next free time forward and
returns the wait, which becomes an event-loop timer; a record moves one step at a time, each
step arming the timer for the next, so steps never overtake each other.
"""

import asyncio
from collections.abc import Callable
from typing import Any, Protocol


class Pacer:
    """A virtual-time token bucket per key."""

    def __init__(self) -> None:
        self._next_free: dict[str, float] = {}

    def backlog(self, key: str, now: float) -> float:
        """Seconds of work already queued for `key`."""
        return max(0.0, self._next_free.get(key, now) - now)

    def reserve(self, key: str, *, rate: float, now: float, cost: float = 1.0) -> float:
        """Take `cost` units at `rate` per second; returns the wait (seconds) before they run."""
        slot = max(now, self._next_free.get(key, now))
        self._next_free[key] = slot + cost / rate
        return slot - now

    def reset(self) -> None:
        self._next_free.clear()


class Timed(Protocol):
    timer: asyncio.TimerHandle | None


class Steps:
    """Runs a record's next step after a delay; a zero delay runs it at once, in order."""

    def __init__(self) -> None:
        self._armed: set[Timed] = set()

    def after(self, record: Timed, delay: float, step: Callable[..., None], *args: Any) -> None:
        if delay <= 0:
            step(record, *args)
        else:
            self.later(record, delay, step, *args)

    def later(self, record: Timed, delay: float, step: Callable[..., None], *args: Any) -> None:
        """Always through the event loop, even with no delay (never inside the caller)."""
        loop = asyncio.get_running_loop()
        record.timer = loop.call_later(max(delay, 0.0), self._fire, record, step, args)
        self._armed.add(record)

    def cancel(self, record: Timed) -> None:
        if record.timer is not None:
            record.timer.cancel()
            record.timer = None
        self._armed.discard(record)

    def reset(self) -> None:
        for record in list(self._armed):
            self.cancel(record)

    def _fire(self, record: Timed, step: Callable[..., None], args: tuple[Any, ...]) -> None:
        self._armed.discard(record)
        record.timer = None
        step(record, *args)
