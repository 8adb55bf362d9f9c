"""Choosing caller IDs for calls: one atomic step that also stamps their use."""

import heapq
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction

from config.bulk import rows_update
from dids.models import Did

_NEVER = datetime(1970, 1, 1).astimezone()


@dataclass(frozen=True, slots=True)
class CallerId:
    """The caller ID chosen for a call."""

    id: int
    e164: str


def _area_code(e164: str) -> str:
    return e164[2:5] if e164.startswith("+1") and len(e164) == 12 else ""


def dids_select_for_calls(
    *, org_id: int, tos: list[str], caller_id_filter: dict, now: datetime, e164: str = ""
) -> list[CallerId | None] | None:
    """The caller ID for each call to `tos` (in order); None in place of a call when every
    candidate made its DID_DAILY_CALL_CAP calls today, and None instead of the list when the
    org has no healthy caller ID left.

    Active caller IDs with health at or above DIALER_MIN_DID_HEALTH, within the campaign's
    filter (area codes, regions) or, given `e164`, that one number only; for each call the
    same area code as the callee first, then the healthiest (scores within
    DID_HEALTH_TIE_BAND are equals), then the least used today, then the least recently
    used. A caller ID ramping back into rotation (dids.health) takes only its growing share
    of the calls it would be given. The candidates are locked while the choice is made and
    their use stamped (`last_call_at` a microsecond apart per pick, so a batch rotates
    through the pool; today's count; the ramp), so concurrent batches spread over the pool
    instead of piling on one number. Numbers another batch is stamping are skipped; if that
    leaves none, wait.
    """
    candidates = Did.objects.filter(
        organization_id=org_id,
        state=Did.State.ACTIVE,
        voice_enabled=True,
        health_score__gte=settings.DIALER_MIN_DID_HEALTH,
    ).order_by("id")
    if caller_id_filter.get("area_codes"):
        candidates = candidates.filter(area_code__in=list(caller_id_filter["area_codes"]))
    if caller_id_filter.get("regions"):
        candidates = candidates.filter(region__in=[r.upper() for r in caller_id_filter["regions"]])
    if e164:
        candidates = candidates.filter(e164=e164)
    with transaction.atomic(savepoint=False):  # inside a batch's transaction: no savepoint
        # The full lock (no_key=False): a caller ID chosen by a batch also holds back the
        # foreign-key checks of rows written for it (health events) until the batch commits,
        # which is what the batch's deadlock retry (config.deadlocks) is built against.
        locked = candidates.select_for_update(skip_locked=True, no_key=False)
        rows = list(locked.values_list(*_COLUMNS)) or list(
            candidates.select_for_update(no_key=False).values_list(*_COLUMNS)
        )
        if not rows:
            return None
        rotation = _Rotation([_Candidate(*row) for row in rows], now)
        chosen = rotation.picks(tos)
        rows_update(
            Did,
            [
                "last_call_at",
                "calls_today",
                "calls_today_on",
                "ramp_calls",
                "ramp_credit",
                "updated_at",
            ],
            [
                (c.id, c.last_call_at, c.calls_today, now.date(), c.ramp_calls, c.ramp_credit, now)
                for c in rotation.changed()
            ],
        )
    return chosen


_COLUMNS = (
    "id",
    "e164",
    "area_code",
    "health_score",
    "last_call_at",
    "calls_today",
    "calls_today_on",
    "ramp_calls",
    "ramp_credit",
)


@dataclass(slots=True)
class _Candidate:
    id: int
    e164: str
    area_code: str
    health_score: float
    last_call_at: datetime | None
    calls_today: int
    calls_today_on: date | None
    ramp_calls: int | None
    ramp_credit: float
    changed: bool = False

    def key(self) -> tuple:
        band = int(self.health_score / settings.DID_HEALTH_TIE_BAND + 1e-9)
        return (-band, self.calls_today, self.last_call_at or _NEVER, self.id)


class _Rotation:
    """Picks in the selection order. A heap per area code and one over all, keyed by each
    candidate's current order; an entry whose candidate was picked since is dropped when it
    surfaces."""

    def __init__(self, candidates: list[_Candidate], now: datetime):
        self.now = now
        self.cap = settings.DID_DAILY_CALL_CAP
        self.by_id = {c.id: c for c in candidates}
        self.everyone: list = []
        self.by_area: dict[str, list] = {}
        for c in candidates:
            if c.calls_today_on != now.date():
                c.calls_today = 0
            if self._capped(c):
                continue
            self.by_area.setdefault(c.area_code, [])
            self._push(c)
        for heap in (self.everyone, *self.by_area.values()):
            heapq.heapify(heap)

    def _push(self, c: _Candidate) -> None:
        for heap in (self.everyone, self.by_area[c.area_code]):
            heapq.heappush(heap, (c.key(), c.id))

    def _top(self, heap: list, hidden: set[int]) -> _Candidate | None:
        while heap:
            key, pk = heap[0]
            c = self.by_id[pk]
            if key == c.key() and pk not in hidden and not self._capped(c):
                return c
            heapq.heappop(heap)  # stale (picked or passed over since), capped, or hidden
        return None

    def picks(self, tos: list[str]) -> list[CallerId | None]:
        out: list[CallerId | None] = []
        ramping = [c for c in self.by_id.values() if c.ramp_calls is not None]
        for i, to in enumerate(tos):
            self._ramp_credit(ramping)
            c = self._pick(to, {r.id for r in ramping if r.ramp_credit < 1.0})
            if c is None:
                out.append(None)
                continue
            if c.ramp_calls is not None:
                self._ramp_step(c)
            c.last_call_at = self.now + timedelta(microseconds=i)
            c.calls_today += 1
            c.changed = True
            self._push(c)
            out.append(CallerId(c.id, c.e164))
        return out

    def _ramp_credit(self, ramping: list[_Candidate]) -> None:
        """Each call, a ramping caller ID earns `share` of the one call in N (candidates) it
        would otherwise get; it may take a call once it has earned a whole one. Its share grows
        with its calls since it came back."""
        if not ramping:
            return
        n = sum(1 for c in self.by_id.values() if not self._capped(c)) or 1
        for c in ramping:
            if c.ramp_calls is not None and not self._capped(c):
                share = max(settings.DID_RAMP_MIN_SHARE, c.ramp_calls / settings.DID_RAMP_CALLS)
                c.ramp_credit += share / n
                c.changed = True

    def _ramp_step(self, c: _Candidate) -> None:
        c.ramp_credit = max(0.0, c.ramp_credit - 1.0)
        c.ramp_calls += 1
        if c.ramp_calls >= settings.DID_RAMP_CALLS:
            c.ramp_calls, c.ramp_credit = None, 0.0

    def _pick(self, to: str, waiting: set[int]) -> _Candidate | None:
        """Same area code first, then anyone, leaving out ramping caller IDs still earning their
        next call; when only those are left, the first of them takes it."""
        hidden: set[int] = set()
        chosen = None
        for heap in (self.by_area.get(_area_code(to)) or [], self.everyone):
            while chosen is None and (c := self._top(heap, hidden)) is not None:
                if c.id in waiting:
                    hidden.add(c.id)
                else:
                    chosen = c
            if chosen is not None:
                break
        for pk in hidden:
            self._push(self.by_id[pk])  # their entries were dropped while hidden
        if chosen is None and hidden:
            chosen = self._top(self.everyone, set())
        return chosen

    def _capped(self, c: _Candidate) -> bool:
        return bool(self.cap) and c.calls_today >= self.cap

    def changed(self) -> list[_Candidate]:
        return [c for c in self.by_id.values() if c.changed]


def did_select_for_call(
    *, org_id: int, to: str, caller_id_filter: dict, now: datetime, e164: str = ""
) -> CallerId | None:
    """The caller ID for one call to `to` (see dids_select_for_calls); None when there is no
    healthy one or every one made its calls for today."""
    picks = dids_select_for_calls(
        org_id=org_id, tos=[to], caller_id_filter=caller_id_filter, now=now, e164=e164
    )
    return picks[0] if picks else None
