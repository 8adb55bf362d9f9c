"""Reads for caller IDs: each one's health, the pool as a whole, and its recent calls."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import reduce
from operator import or_

from django.db.models import Count, Q

from dids.health import did_health
from dids.models import Did, DidHealthEvent

TRAFFIC_WINDOW = timedelta(hours=24)
BURN_WINDOW = timedelta(days=7)
RECENT_CALLS = 50


@dataclass(frozen=True)
class DidHealth:
    """What an operator reads of one caller ID's health."""

    id: int
    e164: str
    state: str
    warning: bool
    score: float
    components: dict[str, float]  # dids.health.COMPONENTS, 0..1 each
    health_calls: int  # calls in the score's window
    cooldown_until: datetime | None
    ramp_calls: int | None  # calls since it came back into rotation; None: not ramping
    calls_today: int  # UTC day


@dataclass(frozen=True)
class TrafficShare:
    id: int
    e164: str
    calls: int
    share: float


@dataclass(frozen=True)
class PoolReport:
    """An organization's caller IDs as a pool: what is left, who carries it, how fast it burns."""

    counts: dict[str, int]  # by state, every state present
    active_with_warning: int
    traffic: list[TrafficShare]  # campaign calls of the last TRAFFIC_WINDOW, largest share first
    burned_last_7_days: int
    burn_rate_per_day: float
    runs_out_at: datetime | None  # active ones at the burn rate; None when nothing burns


def did_health_get(*, did: Did, now: datetime) -> DidHealth:
    score, parts = did_health(did)
    today = now.astimezone(UTC).date()
    return DidHealth(
        id=did.id,
        e164=did.e164,
        state=did.state,
        warning=did.health_warning,
        score=score,
        components=parts,
        health_calls=did.health_calls,
        cooldown_until=did.cooldown_until,
        ramp_calls=did.ramp_calls,
        calls_today=did.calls_today if did.calls_today_on == today else 0,
    )


def did_pool_report_get(*, org, now: datetime) -> PoolReport:
    """Two queries: the org's caller IDs counted by state, and its recent campaign calls."""
    burned_since = now - BURN_WINDOW
    totals = Did.objects.for_org(org).aggregate(
        **{state: Count("id", filter=Q(state=state)) for state in Did.State.values},
        active_with_warning=Count("id", filter=Q(state=Did.State.ACTIVE, health_warning=True)),
        burned_lately=Count("id", filter=Q(burned_at__gt=burned_since, burned_at__lte=now)),
    )
    counts = {state: totals[state] for state in Did.State.values}
    burn_rate = totals["burned_lately"] / (BURN_WINDOW / timedelta(days=1))
    runs_out_at = None
    if burn_rate:
        runs_out_at = now + timedelta(days=counts[Did.State.ACTIVE] / burn_rate)
    return PoolReport(
        counts=counts,
        active_with_warning=totals["active_with_warning"],
        traffic=_traffic_shares(org=org, since=now - TRAFFIC_WINDOW, until=now),
        burned_last_7_days=totals["burned_lately"],
        burn_rate_per_day=round(burn_rate, 4),
        runs_out_at=runs_out_at,
    )


def _traffic_shares(*, org, since: datetime, until: datetime) -> list[TrafficShare]:
    # The calls are the model whose `did` leads here (campaigns.CallAttempt, reached through
    # the relation: dids imports no app above it). Through the org's campaigns, so each
    # campaign's calls are one range of attempt_campaign_created.
    call_attempt = Did._meta.get_field("attempts").related_model
    rows = (
        call_attempt.objects.filter(
            campaign__organization=org,
            pool=call_attempt.Pool.CAMPAIGN,
            created_at__gt=since,
            created_at__lte=until,
            did__isnull=False,
        )
        .values_list("did_id", "did__e164")
        .annotate(calls=Count("id"))
        .order_by()
    )
    total = sum(calls for _, _, calls in rows)
    shares = [TrafficShare(pk, e164, calls, round(calls / total, 4)) for pk, e164, calls in rows]
    return sorted(shares, key=lambda s: (-s.calls, s.e164))


def did_recent_calls_list(
    *, dids: Sequence[Did], calls: int = RECENT_CALLS
) -> dict[int, list[DidHealthEvent]]:
    """Each caller ID's last `calls` calls as its score took them in, oldest first.

    Events are numbered densely as they are applied (DidHealthEvent.seq), so a caller ID's
    last ones are the seqs (health_seq - calls, health_seq]: one range of did_health_seq per
    caller ID, one query for them all. A call shows once its score has taken it in.
    """
    found: dict[int, list[DidHealthEvent]] = {did.id: [] for did in dids}
    ranges = [
        Q(did_id=did.id, seq__gt=max(0, did.health_seq - calls), seq__lte=did.health_seq)
        for did in dids
        if did.health_seq
    ]
    if ranges:
        for event in DidHealthEvent.objects.filter(reduce(or_, ranges)).order_by("did_id", "seq"):
            found[event.did_id].append(event)
    return found
