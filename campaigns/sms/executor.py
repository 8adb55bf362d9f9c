"""The SMS executor: claim due messages, check them, take rate and credit, send, record.

A lane is one chain of `campaigns.sms.send` tasks for one campaign: each claims up to
SMS_BATCH due messages (`claimed_by`, SKIP LOCKED), and if it found a full batch, enqueues
the next link before returning. The tick keeps SMS_LANES lanes per sending campaign alive
(a Redis key per lane that the lane renews; a lane whose worker died expires and is started
again). Before the carrier is asked, a message is marked `submitting_at` in one statement: a
claim left behind with that mark is reconciled with the carrier, never simply sent again.
A text keeps the sender it was written with (a blast's schedule, a drip's turn) unless that
caller ID left the pool or the rotation; a drip's new one keeps its 15-minute gap.
"""

import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.sms.blast import WindowVerdicts
from campaigns.sms.drip import sender_claim
from campaigns.sms.guard import billing_stop_alert, campaign_error_rate_check
from campaigns.sms.rate import Sender, tokens_take
from campaigns.sms.senders import SenderInfo, area_code, pool_senders
from config.bulk import rows_update, sql_in, sql_rows
from config.celery import task_signature
from config.events import events_emit
from config.redis import get_redis
from messaging.models import Message
from messaging.providers import MessageInfo, MessageRequest, ProviderError, get_provider
from messaging.providers import retry_delay as provider_retry_delay
from messaging.services import provider_error_handle, webhook_url
from messaging.sms_text import blocked_word_find
from orgs.models import Organization
from orgs.services import credits_return
from prospects.models import Prospect, Suppression

log = logging.getLogger(__name__)
Reason = Message.FailureReason
LANE_TTL_SECONDS = 30
DRIP_SENDER_RETRY_SECONDS = 60  # a drip's text whose sender left waits this for a free one

# {lock} is the row lock where the database has one.
_CLAIM_SQL = f"""
UPDATE {Message._meta.db_table} SET status = %(sending)s, claimed_by = %(token)s,
       claimed_at = %(now)s, updated_at = %(now)s
 WHERE id IN (
       SELECT id FROM {Message._meta.db_table}
        WHERE campaign_id = %(campaign)s AND status = %(queued)s AND send_at <= %(now)s
        ORDER BY send_at, id
        LIMIT %(n)s{{lock}})
RETURNING id, prospect_id, "to", sender_id, from_number, body, segments, send_at,
          waiting_since, wait, tries,
          COALESCE((SELECT p.timezone FROM {Prospect._meta.db_table} p
                     WHERE p.id = {Message._meta.db_table}.prospect_id), '')
"""


@dataclass
class _Claimed:
    id: int
    prospect_id: int | None
    to: str
    sender_id: int | None
    from_number: str
    body: str
    segments: int
    send_at: datetime
    waiting_since: datetime | None
    wait: str
    tries: int
    timezone: str  # the prospect's own zone, if it has one


@dataclass
class _Outcome:
    """What a batch did, written back in a few statements at its end."""

    now: datetime
    token: str  # the batch's claim: what it writes back goes to texts it still holds
    sent: list = field(default_factory=list)  # (message, info)
    failed: defaultdict = field(default_factory=lambda: defaultdict(list))  # reason -> items
    waiting: list = field(default_factory=list)  # (message, send_at, wait, waiting_since)

    def fail(self, m: _Claimed, reason: str, detail: str = "", code: int | None = None) -> None:
        self.failed[reason].append((m, detail[:300], code))

    def wait(self, m: _Claimed, until: datetime, why: str, bound: timedelta, reason: str) -> None:
        since = m.waiting_since if m.wait == why and m.waiting_since else self.now
        if self.now - since >= bound:
            self.fail(m, reason, f"waited since {since.isoformat()}")
        else:
            self.waiting.append((m, until, why, since))


def lane_key(campaign_id: int, lane: int) -> str:
    return f"outbound:sms:lane:{campaign_id}:{lane}"


def lanes_start(*, campaign_ids: list[int]) -> int:
    """Start the lanes that are not running for each campaign; returns how many started."""
    started = 0
    r = get_redis()
    for campaign_id in campaign_ids:
        for lane in range(settings.SMS_LANES):
            if r.set(lane_key(campaign_id, lane), "1", nx=True, ex=LANE_TTL_SECONDS):
                _lane_batch(campaign_id, lane)
                started += 1
    return started


def messages_send(*, campaign_id: int, lane: int | None = None) -> dict[str, int]:
    """One batch of a lane: returns counts; enqueues the lane's next batch when it was full."""
    campaign = (
        Campaign.objects.select_related("organization", "sender_pool")
        .filter(pk=campaign_id, status=Campaign.Status.DIALING)
        .first()
    )
    if campaign is None:
        _lane_end(campaign_id, lane)
        return {"claimed": 0}
    now = timezone.now()
    token = secrets.token_hex(8)
    claimed = _claim(campaign_id, settings.SMS_BATCH, token, now)
    counts = _send_batch(campaign, claimed, token, now) if claimed else {}
    counts["claimed"] = len(claimed)
    if lane is not None:
        if len(claimed) >= settings.SMS_BATCH:
            get_redis().expire(lane_key(campaign_id, lane), LANE_TTL_SECONDS)
            _lane_batch(campaign_id, lane)
        else:
            _lane_end(campaign_id, lane)
    return counts


def _lane_batch(campaign_id: int, lane: int) -> None:
    """Enqueue the lane's next batch (the task `campaigns.sms.send`)."""
    task_signature("campaigns.sms.send").apply_async(
        kwargs={"campaign_id": campaign_id, "lane": lane}
    )


def _lane_end(campaign_id: int, lane: int | None) -> None:
    if lane is not None:
        get_redis().delete(lane_key(campaign_id, lane))


def _claim(campaign_id: int, n: int, token: str, now: datetime) -> list[_Claimed]:
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    params = {
        "token": token, "now": now, "campaign": campaign_id, "n": n,
        "queued": Message.Status.QUEUED, "sending": Message.Status.SENDING,
    }  # fmt: skip
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(_CLAIM_SQL.format(lock=lock), params)
        rows = cur.fetchall()
    claimed = [_Claimed(*row) for row in rows]
    if settings.USE_TZ and connection.vendor != "postgresql":
        for m in claimed:  # SQLite's raw rows hold the stored UTC times without their zone
            m.send_at = timezone.make_aware(m.send_at, UTC)
            if m.waiting_since is not None:
                m.waiting_since = timezone.make_aware(m.waiting_since, UTC)
    return sorted(claimed, key=lambda m: (m.send_at, m.id))


def _send_batch(
    campaign: Campaign, claimed: list[_Claimed], token: str, now: datetime
) -> dict[str, int]:
    org = campaign.organization
    out = _Outcome(now, token)
    ready = _checked(campaign, org, claimed, out)
    ready = _rated(campaign, ready, out)
    ready = _paid(org, ready, out)
    ready = _still_held(org, ready, out)
    if ready:
        _submit(org, ready, out)
    _record(campaign, out)
    counts = {"sent": len(out.sent), "waiting": len(out.waiting)}
    counts.update({reason.lower(): len(items) for reason, items in out.failed.items()})
    return counts


# --- before the carrier ---------------------------------------------------------------------


def _checked(campaign, org, claimed: list[_Claimed], out: _Outcome) -> list[_Claimed]:
    """Stale, blocked content, a suppressed contact: dead letters. Outside the recipient's
    window (a text that waited into the evening): back to the queue until it opens."""
    stale_before = out.now - timedelta(seconds=settings.SMS_STALE_SECONDS)
    words = tuple(org.blocked_words or ())
    clause, param = sql_in(sorted({m.to for m in claimed}))
    blocked = {
        e164
        for (e164,) in sql_rows(
            f"SELECT e164 FROM {Suppression._meta.db_table} "
            f"WHERE organization_id = %s AND e164 {clause}",
            [org.id, param],
        )
    }
    verdicts = WindowVerdicts(campaign, out.now)
    ready = []
    for m in claimed:
        if m.send_at < stale_before:
            out.fail(m, Reason.STALE, f"due at {m.send_at.isoformat()}")
        elif m.to in blocked:
            out.fail(m, Reason.CONTACT_BLOCKED, "the number is on the suppression list")
        elif words and (word := blocked_word_find(m.body, words)):
            out.fail(m, Reason.BLOCKED_CONTENT, f"contains the blocked word {word!r}")
        else:
            # the prospect's own zone counts with its number's, as when the blast started
            verdict = verdicts.get(m.to, m.timezone)
            if verdict.allowed:
                ready.append(m)
            else:
                opens = verdict.next_allowed_at or out.now + timedelta(hours=1)
                out.waiting.append((m, opens, "", None))
    return ready


def _rated(campaign, ready: list[_Claimed], out: _Outcome) -> list[_Claimed]:
    """What the pool's and each sender's rate allow now; the rest wait for their turn."""
    if not ready:
        return ready
    senders = {s.id: s for s in pool_senders(campaign.sender_pool)}
    if not senders:
        for m in ready:
            out.fail(m, Reason.PROVIDER_ERROR, "no active SMS caller ID in the sender pool")
        return []
    bound = timedelta(seconds=settings.SMS_RATE_LIMIT_MAX_WAIT_SECONDS)
    by_sender: dict[int, list[_Claimed]] = defaultdict(list)
    for m in ready:
        if m.sender_id not in senders:  # left the pool, or out of rotation: pick again
            sender = _replacement(campaign, m.to, senders, out.now)
            if sender is None:  # a drip's caller IDs all texted within their gap
                later = out.now + timedelta(seconds=DRIP_SENDER_RETRY_SECONDS)
                out.wait(m, later, Message.Wait.RATE_LIMIT, bound, Reason.RATE_LIMIT_TIMEOUT)
                continue
            m.sender_id, m.from_number = sender
        by_sender[m.sender_id].append(m)
    if not by_sender:
        return []
    grant = tokens_take(
        pool_id=campaign.sender_pool_id,
        rate_per_minute=campaign.sender_pool.rate_per_minute,
        senders=[
            Sender(str(sid), senders[sid].mps, len(ms), max(m.segments for m in ms))
            for sid, ms in by_sender.items()
        ],
    )
    later = out.now + timedelta(seconds=max(grant.wait_seconds, 0.05))
    granted = []
    for sid, ms in by_sender.items():
        n = grant.by_sender.get(str(sid), 0)
        granted += ms[:n]
        for m in ms[n:]:
            out.wait(m, later, Message.Wait.RATE_LIMIT, bound, Reason.RATE_LIMIT_TIMEOUT)
    return granted


def _replacement(
    campaign: Campaign, to: str, senders: dict[int, SenderInfo], now: datetime
) -> tuple[int, str] | None:
    """Another sender for a text whose own left: one with its area code, then any. A drip's
    is chosen and stamped as its turn chose the first (campaigns.sms.drip), so the caller
    ID's gap holds; None when none is free."""
    if campaign.sms_mode == Campaign.SmsMode.DRIP:
        return sender_claim(pool_id=campaign.sender_pool_id, to=to, sticky=None, now=now)
    same = [s for s in senders.values() if s.area_code and s.area_code == area_code(to)]
    pool = same or list(senders.values())
    sender = pool[hash(to) % len(pool)]
    return sender.id, sender.e164


def _paid(org: Organization, ready: list[_Claimed], out: _Outcome) -> list[_Claimed]:
    """Take the batch's segments from the org's credit; what it cannot pay for waits."""
    if not ready:
        return ready
    need = sum(m.segments for m in ready)
    took = Organization.objects.filter(pk=org.pk, sms_credits__gte=need).update(
        sms_credits=F("sms_credits") - need
    )
    if took:
        return ready
    with transaction.atomic():
        balance = (
            Organization.objects.select_for_update(no_key=True)
            .values_list("sms_credits", flat=True)
            .get(pk=org.pk)
        )
        paid, spent = [], 0
        for m in ready:
            if spent + m.segments > balance:
                break
            paid.append(m)
            spent += m.segments
        if spent:
            Organization.objects.filter(pk=org.pk).update(sms_credits=F("sms_credits") - spent)
    later = out.now + timedelta(seconds=settings.SMS_BILLING_RETRY_SECONDS)
    bound = timedelta(seconds=settings.SMS_BILLING_MAX_WAIT_SECONDS)
    for m in ready[len(paid) :]:
        out.wait(m, later, Message.Wait.BILLING, bound, Reason.BILLING)
    return paid


_SUBMITTING_SQL = f"""
UPDATE {Message._meta.db_table} SET submitting_at = %s
 WHERE id {{ids}} AND claimed_by = %s AND status = %s
RETURNING id
"""


def _still_held(org: Organization, ready: list[_Claimed], out: _Outcome) -> list[_Claimed]:
    """Mark the texts about to go to the carrier (`submitting_at`), those the batch still
    holds. A batch that stalled for SMS_CLAIM_TIMEOUT_SECONDS had its claim released by the
    sweep, and another batch may have sent its texts since: they are left to that one, and
    their credit given back."""
    if not ready:
        return ready
    ids, param = sql_in([m.id for m in ready])
    params = [out.now, param, out.token, Message.Status.SENDING]
    held = {pk for (pk,) in sql_rows(_SUBMITTING_SQL.format(ids=ids), params)}
    lost = [m for m in ready if m.id not in held]
    if lost:
        log.warning("%d texts' claim was released while their batch ran: left alone", len(lost))
        credits_return(org_id=org.pk, segments=sum(m.segments for m in lost))
    return [m for m in ready if m.id in held]


# --- the carrier ----------------------------------------------------------------------------


def _submit(org: Organization, ready: list[_Claimed], out: _Outcome) -> None:
    callback = webhook_url("twilio-sms-status")
    answers = get_provider().send_messages(
        [MessageRequest(to=m.to, from_=m.from_number, body=m.body, status_callback=callback)
         for m in ready]
    )  # fmt: skip
    refund = 0
    for m, answer in zip(ready, answers, strict=True):
        if isinstance(answer, MessageInfo):
            out.sent.append((m, answer))
            continue
        error: ProviderError = answer
        if error.maybe_done:  # perhaps sent: never again without knowing (dead letter)
            out.fail(m, Reason.NO_RESPONSE, str(error), error.code)
            continue
        refund += m.segments
        if error.opted_out:
            provider_error_handle(org=org, to=m.to, error=error)
            out.fail(m, Reason.CONTACT_BLOCKED, str(error), error.code)
        elif error.transient and m.tries + 1 < settings.SMS_PROVIDER_MAX_TRIES:
            delay = provider_retry_delay(m.tries, retry_after=error.retry_after)
            m.tries += 1
            out.waiting.append((m, out.now + timedelta(seconds=delay), "", None))
        else:
            out.fail(m, Reason.PROVIDER_ERROR, str(error), error.code)
    credits_return(org_id=org.pk, segments=refund)


# --- writing it down ------------------------------------------------------------------------


def _record(campaign: Campaign, out: _Outcome) -> None:
    now, held = out.now, {"claimed_by": out.token}
    with transaction.atomic():
        if out.sent:
            rows_update(
                Message,
                ["status", "sid", "submitted", "carrier_status", "submitted_at", "sender_id",
                 "from_number", "segments", "updated_at"],
                [(m.id, Message.Status.SENT, info.sid, True, info.status, now, m.sender_id,
                  m.from_number, info.num_segments or m.segments, now) for m, info in out.sent],
                only_if=held,
            )  # fmt: skip
            Prospect.objects.filter(
                id__in=[m.prospect_id for m, _ in out.sent if m.prospect_id],
                status=Prospect.Status.SENDING,
            ).update(status=Prospect.Status.SENT, updated_at=now)
        if out.waiting:
            rows_update(
                Message,
                ["status", "send_at", "wait", "waiting_since", "tries", "claimed_by",
                 "submitting_at", "updated_at"],
                [(m.id, Message.Status.QUEUED, until, why, since, m.tries, "", None, now)
                 for m, until, why, since in out.waiting],
                only_if=held,
            )  # fmt: skip
        failed_prospects: dict[str, list[int]] = defaultdict(list)
        for reason, items in out.failed.items():
            rows_update(
                Message,
                ["status", "failure_reason", "failure_detail", "error_code", "submitted",
                 "updated_at"],
                [(m.id, Message.Status.FAILED, reason, detail, code,
                  None if reason == Reason.NO_RESPONSE else False, now)
                 for m, detail, code in items],
                only_if=held,
            )  # fmt: skip
            status = (
                Prospect.Status.CANCELLED
                if reason == Reason.CONTACT_BLOCKED
                else Prospect.Status.FAILED
            )
            failed_prospects[status] += [m.prospect_id for m, _, _ in items if m.prospect_id]
        for status, ids in failed_prospects.items():
            Prospect.objects.filter(id__in=ids, status=Prospect.Status.SENDING).update(
                status=status, updated_at=now
            )
        org_id, cid = campaign.organization_id, campaign.id
        events_emit(
            [("campaign.sms.sent", org_id, cid, {"message": m.id, "to": m.to, "sid": info.sid})
             for m, info in out.sent]
            + [("campaign.sms.failed", org_id, cid, {"message": m.id, "to": m.to, "reason": r})
               for r, items in out.failed.items() for m, _, _ in items]
        )  # fmt: skip
    if out.failed.get(Reason.BILLING):
        billing_stop_alert(
            org=campaign.organization,
            campaign_id=campaign.id,
            messages=len(out.failed[Reason.BILLING]),
        )
    if out.sent or out.failed:
        campaign_error_rate_check(campaign_id=campaign.id)
