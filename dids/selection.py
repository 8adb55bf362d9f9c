"""Choosing caller IDs for calls: one atomic step that also stamps their use."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from config.bulk import rows_update
from dids.models import Did

_NEVER = datetime(1970, 1, 1).astimezone()


def _area_code(e164: str) -> str:
    return e164[2:5] if e164.startswith("+1") and len(e164) == 12 else ""


def dids_select_for_calls(
    *, org_id: int, tos: list[str], caller_id_filter: dict, now: datetime, e164: str = ""
) -> list[Did | None]:
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
    with transaction.atomic(savepoint=False):  # inside a batch's transaction: no savepoint
        dids = list(candidates.select_for_update(skip_locked=True)) or list(
            candidates.select_for_update()
        )
        if not dids:
            return [None] * len(tos)
        chosen: list[Did | None] = []
        for i, to in enumerate(tos):
            area = _area_code(to)
            did = min(
                dids,
                key=lambda d: (
                    d.area_code != area,
                    -d.health_score,
                    d.last_call_at or _NEVER,
                    d.id,
                ),
            )
            did.last_call_at = did.updated_at = now + timedelta(microseconds=i)
            chosen.append(did)
        stamped = {d.pk: (d.pk, d.last_call_at, d.updated_at) for d in chosen}
        rows_update(Did, ["last_call_at", "updated_at"], list(stamped.values()))
    return chosen


def did_select_for_call(
    *, org_id: int, to: str, caller_id_filter: dict, now: datetime, e164: str = ""
) -> Did | None:
    """The caller ID for one call to `to` (see dids_select_for_calls)."""
    return dids_select_for_calls(
        org_id=org_id, tos=[to], caller_id_filter=caller_id_filter, now=now, e164=e164
    )[0]
