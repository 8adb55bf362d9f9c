"""Who sends a campaign's texts: its sender pool's caller IDs, shared out by their rate.

A number keeps the sender it was last texted from by the organization (sticky), if that
caller ID is still in the pool and active; otherwise it gets one with its area code, then any;
among those, the one with the least work for its rate. Texts are scheduled per sender at its
messages per second, so the carrier never queues them and the rate limiter rarely refuses.
"""

import heapq
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dids.models import Did, SenderPool

TOLL_FREE_PREFIXES = ("+1800", "+1833", "+1844", "+1855", "+1866", "+1877", "+1888")
MPS_BY_TYPE = {"long_code": 1.0, "toll_free": 3.0}


def did_sms_mps(e164: str, configured: float | None) -> float:
    """Segments per second the carrier sends from this number: its setting, or its type's."""
    if configured:
        return float(configured)
    return MPS_BY_TYPE["toll_free" if e164.startswith(TOLL_FREE_PREFIXES) else "long_code"]


@dataclass
class SenderInfo:
    id: int
    e164: str
    area_code: str
    mps: float
    # Scheduling: when this sender is next free, in seconds after the schedule's start.
    free_at: float = 0.0


def pool_senders(pool: SenderPool | None) -> list[SenderInfo]:
    """The pool's caller IDs that can text now: active and SMS-enabled."""
    if pool is None:
        return []
    rows = (
        Did.objects.filter(sender_pools=pool, state=Did.State.ACTIVE, sms_enabled=True)
        .order_by("id")
        .values_list("id", "e164", "area_code", "sms_mps")
    )
    return [SenderInfo(i, e164, area or "", did_sms_mps(e164, mps)) for i, e164, area, mps in rows]


def area_code(e164: str) -> str:
    return e164[2:5] if e164.startswith("+1") else ""


@dataclass
class Scheduler:
    """Hands out senders and send times: each sender at its MPS, the pool at its rate."""

    senders: list[SenderInfo]
    start: datetime
    rate_per_minute: int
    _by_id: dict[int, SenderInfo] = field(init=False)
    _heaps: dict[str, list] = field(init=False)
    _pool_next: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self._by_id = {s.id: s for s in self.senders}
        self._heaps = {}
        for s in self.senders:
            self._heaps.setdefault(s.area_code, []).append((0.0, s.id))
            self._heaps.setdefault("", []).append((0.0, s.id))
        for heap in self._heaps.values():
            heapq.heapify(heap)

    def assign(self, to: str, segments: int, sticky: int | None, not_before: datetime) -> tuple:
        """(sender, send_at) for one text of `segments` to `to`. A text that must wait for
        its window to open is sent when it opens and moves no one else's turn; the rate
        limiter spreads such texts when many open at once."""
        sender = self._by_id.get(sticky) if sticky else None
        if sender is None:
            sender = self._least_busy(area_code(to))
        if not_before > self.start:
            return sender, not_before
        at = max(sender.free_at, self._pool_next)
        sender.free_at = at + segments / sender.mps
        self._pool_next += 60.0 / self.rate_per_minute
        for key in {sender.area_code, ""}:
            heapq.heappush(self._heaps[key], (sender.free_at, sender.id))
        return sender, self.start + timedelta(seconds=at)

    def _least_busy(self, area: str) -> SenderInfo:
        heap = self._heaps.get(area) or self._heaps[""]
        while True:  # entries are pushed again whenever a sender's time moves: skip old ones
            free_at, sid = heapq.heappop(heap)
            sender = self._by_id[sid]
            if free_at == sender.free_at:
                heapq.heappush(heap, (free_at, sid))
                return sender
