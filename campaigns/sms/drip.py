"""Drip: a campaign that texts like a person, one prospect at a time from a pool of numbers.

Every tick (campaigns.sms.tick) gives each sending drip whose `drip_next_at` has come one
turn, in a transaction of its own that holds the campaign's row (SKIP LOCKED: another tick at
the same moment passes it by). A turn:

- takes the next queued prospects (priority, then id; SKIP LOCKED) and texts the first that
  passes the blast's exclusions (campaigns.sms.blast). Those passed over on the way are dealt
  with as they deserve: suppressed, unsubscribed, without a number or within the frequency cap,
  cancelled with the reason (as a blast leaves them out); outside their texting window, left
  queued with `next_attempt_at` at the window's opening, so they keep their place and the turn
  tries the next; with a number whose window never opens (no zone is known for it),
  cancelled (`no_window`); with a placeholder that has no value for them, failed
  (`missing_value`).
  The start validates the whole audience as a blast's does (BlastInvalid, nothing written), so
  only prospects added since can fail that way.
- chooses and stamps its sender in one conditional UPDATE of `Did.last_sms_at`: the caller ID
  the organization last texted the number from, if its gap allows, then one with the number's
  area code, then any; the longest idle first. A caller ID texts at most once per
  SMS_DRIP_GAP_SECONDS (15 minutes), however many ticks and workers run at once.
- writes the text (the blast's variant split, render and short links) as a queued message
  due now from that sender, and the prospect goes to `sending`; the executor
  (campaigns.sms.executor) sends it like a blast's.
- moves `drip_next_at` on by the gap divided by the pool's caller IDs, so each of them texts
  about once per gap (four times an hour at 15 minutes).

A turn that finds no free caller ID, or nobody it may text now, leaves `drip_next_at` alone
and the next tick tries again. While the drip's last text waits in the executor (for the rate,
credit, its window or a carrier retry) the drip takes no turn, so texts never pile up to go
out at once; after a pause the first turn texts one prospect and the next waits its interval.
"""

from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.services import campaign_auto_pause
from campaigns.sms.blast import (
    AudienceRow,
    audience_evaluate,
    audience_query,
    audience_rows,
    exclusion,
    message_row,
    messages_write,
    prospects_exclude,
    text_render,
    window_opens,
)
from campaigns.sms.senders import SenderInfo, area_code, pool_senders
from dids.models import Did, SenderPool
from messaging.models import Message, MessageVariant
from messaging.sms_text import MissingValue
from prospects.models import Prospect

CANDIDATES = 20  # queued prospects a turn looks through, at most, for one it may text now
MISSING_VALUE = "missing_value"  # the outcome of a prospect whose text lacks a value
NO_WINDOW = "no_window"  # ... of one whose number is in no zone, so never inside a window

_DRIPS = Q(
    status=Campaign.Status.DIALING, channel=Campaign.Channel.SMS, sms_mode=Campaign.SmsMode.DRIP
)

# Choose and stamp a sender in one statement: the subquery locks the best free caller ID of
# the pool (SKIP LOCKED: one another turn holds is passed over), the outer condition sees the
# row as it is once locked, so two turns can never both take one caller ID within its gap.
_SENDER_CLAIM_SQL = f"""
UPDATE {Did._meta.db_table} SET last_sms_at = %(now)s
 WHERE id = (
       SELECT d.id FROM {Did._meta.db_table} d
         JOIN {SenderPool.dids.through._meta.db_table} p
           ON p.did_id = d.id AND p.senderpool_id = %(pool)s
        WHERE d.state = %(active)s AND d.sms_enabled
          AND (d.last_sms_at IS NULL OR d.last_sms_at <= %(free_before)s)
        ORDER BY (d.id = %(sticky)s) DESC, COALESCE(d.area_code = %(area)s, FALSE) DESC,
                 d.last_sms_at NULLS FIRST, d.id
        LIMIT 1
          FOR NO KEY UPDATE OF d SKIP LOCKED)
   AND (last_sms_at IS NULL OR last_sms_at <= %(free_before)s)
RETURNING id, e164
"""


def drip_start(*, campaign: Campaign, now: datetime) -> None:
    """Validate the drip as a blast is validated (BlastInvalid names what is wrong, such as a
    placeholder without a value) and let its first turn come now. Runs inside the start's
    transaction; writes no message."""
    audience_evaluate(campaign=campaign, now=now)
    Campaign.objects.filter(pk=campaign.pk).update(drip_next_at=now)


def drips_tick(*, now: datetime | None = None) -> dict[str, int]:
    """A turn for each sending drip that is due; returns how many turns did what."""
    now = now or timezone.now()
    due = (
        Campaign.objects.filter(_DRIPS, _due(now))
        .order_by("-priority", "id")
        .values_list("id", flat=True)
    )
    counts: dict[str, int] = defaultdict(int)
    for campaign_id in list(due):
        counts[drip_turn(campaign_id=campaign_id, now=now)] += 1
    return dict(counts)


def drip_turn(*, campaign_id: int, now: datetime) -> str:
    """Text the drip's next prospect if its turn has come; returns what the turn did:
    texted, skipped (not due, or another tick has it), held (its last text still waits),
    no_senders (paused), senders_busy, waiting (nobody may be texted now) or no_message."""
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
            .select_related("sender_pool")
            .filter(_DRIPS, _due(now), pk=campaign_id)
            .first()
        )
        if campaign is None:
            return "skipped"
        if _held(campaign.id, now):
            return "held"
        senders = pool_senders(campaign.sender_pool)
        if not senders:
            _pause_without_senders(campaign, now)
            return "no_senders"
        if not Did.objects.filter(_free(now), id__in=[s.id for s in senders]).exists():
            return "senders_busy"
        variants = list(campaign.variants.order_by("position", "id"))
        if not variants:
            return "no_message"
        found = _next_prospect(campaign, senders, variants, now)
        if found is None:
            return "waiting"
        row, variant, body = found
        sender = sender_claim(
            pool_id=campaign.sender_pool_id, to=row.e164, sticky=row.sticky, now=now
        )
        if sender is None:
            return "senders_busy"
        message, links = message_row(campaign, row, variant, body, now)
        message.update(sender_id=sender[0], from_number=sender[1])
        messages_write(campaign, [message], [links], now)
        Prospect.objects.filter(pk=row.id, status=Prospect.Status.QUEUED).update(
            status=Prospect.Status.SENDING, updated_at=now
        )
        interval = timedelta(seconds=settings.SMS_DRIP_GAP_SECONDS / len(senders))
        Campaign.objects.filter(pk=campaign.pk).update(drip_next_at=now + interval)
    return "texted"


def sender_claim(
    *, pool_id: int, to: str, sticky: int | None, now: datetime
) -> tuple[int, str] | None:
    """Choose a caller ID of the pool to text `to` from and stamp its `last_sms_at`, in one
    step that holds with any number of workers: `sticky` if its gap allows, then one with the
    number's area code, then any, the longest idle first. Returns (id, e164), or None when
    every caller ID of the pool texted within SMS_DRIP_GAP_SECONDS."""
    free_before = now - timedelta(seconds=settings.SMS_DRIP_GAP_SECONDS)
    area = area_code(to) or None
    if connection.vendor != "postgresql":
        return _sender_claim_portable(pool_id, area, sticky, now)
    params = {"now": now, "pool": pool_id, "free_before": free_before, "sticky": sticky or 0,
              "area": area, "active": Did.State.ACTIVE}  # fmt: skip
    with connection.cursor() as cur:
        cur.execute(_SENDER_CLAIM_SQL, params)
        found = cur.fetchone()
    return (found[0], found[1]) if found else None


def _sender_claim_portable(
    pool_id: int, area: str | None, sticky: int | None, now: datetime
) -> tuple[int, str] | None:
    """The same choice for SQLite (the demo), whose one writer needs no SKIP LOCKED: the
    candidates in the same order, each taken only if a conditional UPDATE still finds it free."""
    candidates = (
        Did.objects.filter(
            _free(now), sender_pools=pool_id, state=Did.State.ACTIVE, sms_enabled=True
        )
        .order_by(
            Case(When(id=sticky or 0, then=Value(0)), default=Value(1)),
            Case(When(area_code=area, then=Value(0)), default=Value(1)),
            F("last_sms_at").asc(nulls_first=True),
            "id",
        )
        .values_list("id", "e164")
    )
    for did_id, e164 in candidates:
        if Did.objects.filter(_free(now), pk=did_id).update(last_sms_at=now):
            return did_id, e164
    return None


def _due(now: datetime) -> Q:
    """Drips whose next turn has come (one started before drip_next_at existed has none)."""
    return Q(drip_next_at__isnull=True) | Q(drip_next_at__lte=now)


def _free(now: datetime) -> Q:
    """Caller IDs whose last drip text is at least the gap old (or that never sent one)."""
    free_before = now - timedelta(seconds=settings.SMS_DRIP_GAP_SECONDS)
    return Q(last_sms_at__isnull=True) | Q(last_sms_at__lte=free_before)


def _held(campaign_id: int, now: datetime) -> bool:
    """The drip's last text is still queued and waiting (the rate, credit, its window, a
    carrier retry): a text due now is the executor's next, and holds nothing."""
    return (
        Message.objects.filter(campaign_id=campaign_id, status=Message.Status.QUEUED)
        .filter(Q(send_at__gt=now) | ~Q(wait=Message.Wait.NONE))
        .exists()
    )


def _next_prospect(
    campaign: Campaign, senders: list[SenderInfo], variants: list[MessageVariant], now: datetime
) -> tuple[AudienceRow, MessageVariant, str] | None:
    """The first of the next queued prospects (locked, SKIP LOCKED) that may be texted now,
    with its variant and text; those passed over on the way are cancelled, put off until
    their window opens, or failed, as the module's docstring says."""
    qs = (
        audience_query(campaign, [s.id for s in senders], now)
        .filter(next_attempt_at__lte=now)
        .order_by("-priority", "id")
        .select_for_update(skip_locked=True, no_key=True, of=("self",))
    )
    rows = audience_rows(qs[:CANDIDATES])
    opens = window_opens(campaign, [r for r in rows if not exclusion(r)], now)
    excluded: dict[str, list[int]] = defaultdict(list)
    later: dict[datetime, list[int]] = defaultdict(list)
    failed: list[int] = []
    found = None
    for row in rows:
        reason = exclusion(row)
        if reason:
            excluded[reason].append(row.id)
        elif row.id in opens:
            when = opens[row.id]
            if when is None:
                excluded[NO_WINDOW].append(row.id)
            else:
                later[when].append(row.id)
        else:
            try:
                found = (row, *text_render(campaign, variants, row))
                break
            except MissingValue:
                failed.append(row.id)
    for reason, ids in excluded.items():
        prospects_exclude(ids, reason, now)
    for when, ids in later.items():
        Prospect.objects.filter(id__in=ids, status=Prospect.Status.QUEUED).update(
            next_attempt_at=when, updated_at=now
        )
    Prospect.objects.filter(id__in=failed, status=Prospect.Status.QUEUED).update(
        status=Prospect.Status.FAILED, last_outcome=MISSING_VALUE, updated_at=now
    )
    return found


def _pause_without_senders(campaign: Campaign, now: datetime) -> None:
    """No active SMS-enabled caller ID left in the pool: paused until an operator resumes."""
    campaign_auto_pause(campaign=campaign, reason=Campaign.PauseReason.NO_DIDS, now=now)
