"""Choosing caller IDs for calls: one atomic step that also stamps their use."""

import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta

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
) -> list[CallerId | None]:
    """The caller ID for each call to `tos` (in order), None for all when the org has no
    healthy one left.

    Active caller IDs with health at or above DIALER_MIN_DID_HEALTH, within the campaign's
    filter (area codes, regions) or, given `e164`, that one number only; for each call the
    same area code as the callee first, then the highest health, then the least recently
    used. The candidates are locked while the choice is made and their `last_call_at`
    stamped (a microsecond apart per pick, so a batch rotates through the pool), so
    concurrent batches spread over the pool instead of piling on one number. Numbers another
    batch is stamping are skipped; if that leaves none, wait.
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
    columns = ("id", "e164", "area_code", "health_score", "last_call_at")
    with transaction.atomic(savepoint=False):  # inside a batch's transaction: no savepoint
        rows = list(candidates.select_for_update(skip_locked=True).values_list(*columns)) or list(
            candidates.select_for_update().values_list(*columns)
        )
        if not rows:
            return [None] * len(tos)
        chosen = _Rotation(rows).picks(tos, now)
        stamps = {c.id: now + timedelta(microseconds=i) for i, c in enumerate(chosen)}
        rows_update(
            Did, ["last_call_at", "updated_at"], [(pk, at, at) for pk, at in stamps.items()]
        )
    return chosen


class _Rotation:
    """Picks in the selection order, each pick stamped as used last. A heap per area code
    and one over all, entries dropped lazily once their caller ID was picked again."""

    def __init__(self, rows):
        self.by_id = {}
        self.everyone: list = []
        self.by_area: dict[str, list] = {}
        for pk, e164, area, health, last in rows:
            self.by_id[pk] = (CallerId(pk, e164), area, health)
            entry = (-health, last or _NEVER, pk)
            self.everyone.append(entry)
            self.by_area.setdefault(area, []).append(entry)
        self.current = {pk: last or _NEVER for pk, _, _, _, last in rows}
        heapq.heapify(self.everyone)
        for heap in self.by_area.values():
            heapq.heapify(heap)

    def picks(self, tos: list[str], now: datetime) -> list[CallerId]:
        out = []
        for i, to in enumerate(tos):
            heap = self.by_area.get(_area_code(to)) or self.everyone
            while heap[0][1] != self.current[heap[0][2]]:
                heapq.heappop(heap)  # an entry from before this caller ID's last pick
            pk = heap[0][2]
            caller_id, area, health = self.by_id[pk]
            used = self.current[pk] = now + timedelta(microseconds=i)
            heapq.heappush(self.everyone, (-health, used, pk))
            heapq.heappush(self.by_area[area], (-health, used, pk))
            out.append(caller_id)
        return out


def did_select_for_call(
    *, org_id: int, to: str, caller_id_filter: dict, now: datetime, e164: str = ""
) -> CallerId | None:
    """The caller ID for one call to `to` (see dids_select_for_calls)."""
    return dids_select_for_calls(
        org_id=org_id, tos=[to], caller_id_filter=caller_id_filter, now=now, e164=e164
    )[0]
