"""The dispatch tick: share free call slots between orgs, pace campaigns, claim prospects.

Run by beat every second (`campaigns.dialer.dispatch_tick`), and safe with several dispatchers
at once: on PostgreSQL one transaction-scoped advisory lock serialises the slot arithmetic
(a second dispatcher skips the tick rather than over-allocate), a second one (`slots_lock`)
keeps one-off calls (campaigns.voice.calls) from taking slots while a tick counts and claims, and
every claim is `FOR UPDATE SKIP LOCKED`, so no prospect is ever claimed twice. Claimed
prospects leave as ids in attempt tasks once the tick commits, spread over the next second.
"""

import functools
import json
import math
import uuid
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from campaigns.models import CallAttempt, Campaign
from config.celery import task_signature
from config.events import event_emit
from prospects import windows
from prospects.models import Prospect

TICK_LOCK = 0x6F75_7464  # the advisory lock key of the tick ("outd")
SLOTS_LOCK = 0x6F75_7473  # held while active calls are counted and new ones added ("outs")
SPREAD_GROUPS = 10  # a campaign's calls of one tick go out in up to this many waves


def slots_allocate(free: int, orgs: Mapping[int, tuple[int, int]]) -> dict[int, int]:
    """Share `free` slots between orgs given {org: (concurrency_limit, active)}.

    In proportion to each org's limit, never above its room (limit - active): whole slots by
    floor first, the leftovers one each by largest fractional share (ties: larger limit, then
    lower id). An org whose proportional share exceeds its room gets its room and the excess
    is shared among the others. The total handed out is min(free, total room).
    """
    rooms = {org: max(0, limit - active) for org, (limit, active) in orgs.items()}
    free = max(0, free)
    if free >= sum(rooms.values()):
        return rooms
    alloc = dict.fromkeys(orgs, 0)
    open_ = {org for org, room in rooms.items() if room > 0 and orgs[org][0] > 0}
    remaining = free
    while open_:
        weight = sum(orgs[org][0] for org in open_)
        capped = {org for org in open_ if remaining * orgs[org][0] >= rooms[org] * weight}
        if not capped:
            break
        for org in capped:
            alloc[org] = rooms[org]
            remaining -= rooms[org]
        open_ -= capped
    if not open_ or remaining <= 0:
        return alloc
    weight = sum(orgs[org][0] for org in open_)
    remainders = {}
    for org in open_:
        whole, remainders[org] = divmod(remaining * orgs[org][0], weight)
        alloc[org] = whole
    leftover = remaining - sum(alloc[org] for org in open_)
    for org in sorted(open_, key=lambda o: (-remainders[o], -orgs[o][0], o))[:leftover]:
        alloc[org] += 1
    return alloc


@dataclass
class TickResult:
    claimed: int = 0
    free: int = 0
    campaigns: int = 0
    completed: int = 0
    skipped: bool = False
    batches: list[tuple[int, str, list[int], float]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "claimed": self.claimed,
            "free": self.free,
            "campaigns": self.campaigns,
            "completed": self.completed,
            "skipped": int(self.skipped),
        }


def dispatch_tick(*, now: datetime | None = None) -> dict:
    """One tick: allocate, pace, claim, complete finished campaigns; enqueue after commit."""
    now = now or timezone.now()
    result = TickResult()
    with transaction.atomic():
        if not _tick_lock():
            result.skipped = True
            return result.as_dict()
        slots_lock()
        _tick(now, result)
        batches = result.batches
        if batches:
            transaction.on_commit(lambda: _enqueue(batches))
    return result.as_dict()


def _tick_lock() -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite (the demo) serialises writers itself
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_xact_lock(%s)", [TICK_LOCK])
        return cur.fetchone()[0]


def slots_lock() -> None:
    """Wait for, then hold to the end of the transaction, the right to count active calls and
    add new ones: the tick's claims and one-off calls (campaigns.voice.calls) take it, so neither
    counts while the other's new calls are still invisible to it."""
    if connection.vendor != "postgresql":
        return  # SQLite (the demo) serialises writers itself
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [SLOTS_LOCK])


def active_calls_by_org() -> dict[int, int]:
    """Claimed or in-flight calls per org: campaign prospects being dialed plus open one-offs."""
    active: dict[int, int] = dict(
        Prospect.objects.filter(status=Prospect.Status.DIALING)
        .values_list("organization_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    others = (
        CallAttempt.objects.exclude(status=CallAttempt.Status.FINISHED)
        .exclude(pool=CallAttempt.Pool.CAMPAIGN)
        .values_list("organization_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for org_id, n in others:
        active[org_id] = active.get(org_id, 0) + n
    return active


def _tick(now: datetime, result: TickResult) -> None:
    campaigns = list(
        Campaign.objects.filter(status=Campaign.Status.DIALING, channel=Campaign.Channel.VOICE)
        .select_related("organization")
        .select_for_update(of=("self",), no_key=True)
        .order_by("-priority", "id")
    )
    result.campaigns = len(campaigns)
    if not campaigns:
        return
    active = active_calls_by_org()
    campaign_active = Prospect.objects.filter(status=Prospect.Status.DIALING).count()
    global_free = settings.DIALER_GLOBAL_CONCURRENCY - sum(active.values())
    pool_free = settings.DIALER_CHANNEL_POOLS["campaign"] - campaign_active
    free = min(global_free, pool_free)
    result.free = max(0, free)

    with_work = {c.id for c in campaigns if _has_due_work(c, now)}
    for campaign in campaigns:
        if campaign.id not in with_work and _campaign_complete(campaign, now):
            result.completed += 1
    orgs = {
        c.organization_id: (c.organization.concurrency_limit, active.get(c.organization_id, 0))
        for c in campaigns
        if c.id in with_work
    }
    shares = slots_allocate(free, orgs)
    for campaign in campaigns:
        if campaign.status != Campaign.Status.DIALING:
            continue
        tokens = _refill(campaign, now)
        budget = (
            min(int(tokens), shares.get(campaign.organization_id, 0))
            if campaign.id in with_work
            else 0
        )
        claimed: list[int] = []
        if budget > 0:
            claim = uuid.uuid4().hex
            claimed = _claim(campaign, budget, claim, now)
            if claimed:
                shares[campaign.organization_id] -= len(claimed)
                result.claimed += len(claimed)
                result.batches.extend(_waves(campaign.id, claim, claimed))
        Campaign.objects.filter(pk=campaign.pk).update(
            pacing_tokens=tokens - len(claimed), pacing_at=now
        )


def _refill(campaign: Campaign, now: datetime) -> float:
    """The campaign's pacing tokens now: a bucket of one second of calls (at least one)."""
    cps = float(campaign.calls_per_second)
    burst = max(1.0, cps)
    if campaign.pacing_at is None:
        return min(burst, max(campaign.pacing_tokens, 1.0))
    elapsed = max(0.0, (now - campaign.pacing_at).total_seconds())
    return min(burst, campaign.pacing_tokens + elapsed * cps)


def _has_due_work(campaign: Campaign, now: datetime) -> bool:
    return Prospect.objects.filter(
        campaign_id=campaign.id, status=Prospect.Status.QUEUED, next_attempt_at__lte=now
    ).exists()


def _campaign_complete(campaign: Campaign, now: datetime) -> bool:
    """dialing -> completed when nothing is queued (due now or later) or in flight."""
    busy = Prospect.objects.filter(
        campaign_id=campaign.id, status__in=[Prospect.Status.QUEUED, Prospect.Status.DIALING]
    ).exists()
    if busy:
        return False
    done = Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.DIALING).update(
        status=Campaign.Status.COMPLETED, finished_at=now, updated_at=now
    )
    if done:
        campaign.status = Campaign.Status.COMPLETED
        event_emit("campaign.completed", org_id=campaign.organization_id, campaign_id=campaign.id)
    return bool(done)


_CLAIM_SQL = f"""
UPDATE {Prospect._meta.db_table} SET status = %(dialing)s, locked_by = %(claim)s,
       locked_at = %(now)s, updated_at = %(now)s
 WHERE id IN (
       SELECT id FROM {Prospect._meta.db_table}
        WHERE campaign_id = %(campaign)s AND status = %(queued)s AND next_attempt_at <= %(now)s
          AND jsonb_array_length(time_zones) > 0 AND time_zones <@ %(zones)s::jsonb
        ORDER BY priority DESC, id
        LIMIT %(n)s
          FOR NO KEY UPDATE SKIP LOCKED)
RETURNING id
"""


def _claim(campaign: Campaign, n: int, claim: str, now: datetime) -> list[int]:
    """Claim up to n due prospects whose every possible zone is inside the window now."""
    zones = _eligible_zones(
        now.replace(second=0, microsecond=0),
        campaign.calling_policy,
        json.dumps(campaign.calling_windows, sort_keys=True),
    )
    if not zones:
        return []
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                _CLAIM_SQL,
                {
                    "claim": claim,
                    "now": now,
                    "campaign": campaign.id,
                    "zones": json.dumps(sorted(zones)),
                    "n": n,
                    "queued": Prospect.Status.QUEUED,
                    "dialing": Prospect.Status.DIALING,
                },
            )
            return sorted(row[0] for row in cur.fetchall())
    return _claim_portable(campaign, n, claim, now, zones)


_ZONES = frozenset(zoneinfo.available_timezones())


@functools.lru_cache(maxsize=256)
def _eligible_zones(minute: datetime, policy: str, windows_json: str) -> frozenset[str]:
    """Zones inside the window during this minute (window edges fall on whole minutes)."""
    parsed = windows.parse_windows(json.loads(windows_json))
    return windows.eligible_zones(minute, _ZONES, policy=policy, windows=parsed)


def _claim_portable(campaign, n, claim, now, zones) -> list[int]:
    """The same claim for SQLite (the demo), where the one writer needs no SKIP LOCKED."""
    ids: list[int] = []
    candidates = (
        Prospect.objects.filter(
            campaign_id=campaign.id, status=Prospect.Status.QUEUED, next_attempt_at__lte=now
        )
        .order_by("-priority", "id")
        .values_list("id", "time_zones")
        .iterator(chunk_size=2000)
    )
    for pid, tz in candidates:
        if tz and set(tz) <= zones:
            ids.append(pid)
            if len(ids) >= n:
                break
    if ids:
        Prospect.objects.filter(pk__in=ids, status=Prospect.Status.QUEUED).update(
            status=Prospect.Status.DIALING, locked_by=claim, locked_at=now, updated_at=now
        )
    return ids


def _waves(campaign_id: int, claim: str, ids: list[int]) -> list[tuple[int, str, list[int], float]]:
    """Split a campaign's claimed ids into tasks spread evenly over the next second."""
    groups = max(
        min(len(ids), SPREAD_GROUPS), math.ceil(len(ids) / settings.DIALER_ATTEMPTS_PER_TASK)
    )
    size = math.ceil(len(ids) / groups)
    chunks = [ids[i : i + size] for i in range(0, len(ids), size)]
    return [(campaign_id, claim, chunk, i / len(chunks)) for i, chunk in enumerate(chunks)]


def _enqueue(batches) -> None:
    """Send a tick's attempt tasks over one broker connection. Their ids are described, not
    repr'd, in the message headers: Celery's safe repr of long id lists, and a connection
    per message, cost the dispatcher more than its claims."""
    place_calls = task_signature("campaigns.dialer.place_calls")
    with place_calls.app.producer_or_acquire() as producer:
        for campaign_id, claim, ids, delay in batches:
            place_calls.apply_async(
                kwargs={"campaign_id": campaign_id, "claim": claim, "prospect_ids": ids},
                countdown=delay or None,
                producer=producer,
                argsrepr="()",
                kwargsrepr=f"{{campaign_id: {campaign_id}, claim: {claim}, {len(ids)} prospects}}",
            )
