"""Choosing the caller ID for a call: one atomic step that also stamps its use."""

from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Value, When

from dids.models import Did


def _area_code(e164: str) -> str:
    return e164[2:5] if e164.startswith("+1") and len(e164) == 12 else ""


_SELECT_SQL = """
UPDATE dids_did SET last_call_at = %(now)s, updated_at = %(now)s
 WHERE id = (
       SELECT id FROM dids_did
        WHERE organization_id = %(org)s AND state = 'active' AND voice_enabled
          AND health_score >= %(min_health)s {filters}
        ORDER BY (area_code = %(area)s) DESC, health_score DESC, last_call_at ASC NULLS FIRST, id
        LIMIT 1
          FOR UPDATE {skip})
RETURNING id
"""


def did_select_for_call(
    *, org_id: int, to: str, caller_id_filter: dict, now: datetime
) -> Did | None:
    """The caller ID for a call to `to`, or None when the org has no healthy one left.

    Active caller IDs with health at or above DIALER_MIN_DID_HEALTH, within the campaign's
    filter (area codes, regions); the same area code as the callee first, then the highest
    health, then the least recently used. Choosing it and stamping `last_call_at` are one
    statement, so concurrent attempts spread over the pool instead of piling on one number.
    """
    params = {
        "now": now,
        "org": org_id,
        "min_health": settings.DIALER_MIN_DID_HEALTH,
        "area": _area_code(to),
    }
    filters = ""
    if caller_id_filter.get("area_codes"):
        filters += " AND area_code = ANY(%(area_codes)s)"
        params["area_codes"] = list(caller_id_filter["area_codes"])
    if caller_id_filter.get("regions"):
        filters += " AND region = ANY(%(regions)s)"
        params["regions"] = [r.upper() for r in caller_id_filter["regions"]]
    if connection.vendor != "postgresql":
        return _select_portable(params, caller_id_filter)
    with transaction.atomic(), connection.cursor() as cur:
        # Skip numbers another attempt is stamping right now; if that leaves none, wait.
        for skip in ("SKIP LOCKED", ""):
            cur.execute(_SELECT_SQL.format(filters=filters, skip=skip), params)
            row = cur.fetchone()
            if row:
                return Did.objects.get(pk=row[0])
    return None


def _select_portable(params: dict, caller_id_filter: dict) -> Did | None:
    """The same choice for SQLite (the demo), whose single writer makes it atomic; ordered in
    SQL, so a call loads one caller ID, not the org's every one."""
    candidates = Did.objects.filter(
        organization_id=params["org"],
        state=Did.State.ACTIVE,
        voice_enabled=True,
        health_score__gte=params["min_health"],
    )
    if caller_id_filter.get("area_codes"):
        candidates = candidates.filter(area_code__in=params["area_codes"])
    if caller_id_filter.get("regions"):
        candidates = candidates.filter(region__in=params["regions"])
    did = candidates.order_by(
        Case(When(area_code=params["area"], then=Value(0)), default=Value(1)),
        "-health_score",
        F("last_call_at").asc(nulls_first=True),
        "id",
    ).first()
    if did is None:
        return None
    Did.objects.filter(pk=did.pk).update(last_call_at=params["now"], updated_at=params["now"])
    did.last_call_at = params["now"]
    return did
