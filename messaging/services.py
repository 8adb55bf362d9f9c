"""The carrier boundary's writes: recording calls and messages, applying the webhook inbox."""

import functools
import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from config.bulk import rows_insert
from config.celery import task_signature
from config.deadlocks import deadlock_retried
from config.redis import get_redis
from dids.models import Did
from messaging import keywords
from messaging.handlers import calls_applied_handle, text_reports_handle
from messaging.models import (
    CALL_STATUS_RANK,
    MESSAGE_STATUS_RANK,
    TERMINAL_RANK,
    CarrierCall,
    CarrierMessage,
    Message,
    WebhookEvent,
)
from messaging.providers import CallInfo, ProviderError, get_provider
from prospects.models import Suppression
from prospects.services import (
    prospects_mark_replied,
    suppression_add,
    suppression_remove_opt_out,
)

log = logging.getLogger(__name__)
INBOX_BATCH = 1000
INBOX_DEBOUNCE_MS = 200
DEFER_SECONDS = 2  # an event waiting for its row is looked at again this much later
_SCHEDULED_KEY = "outbound:inbox:apply-scheduled"
Outcome = WebhookEvent.Outcome


def webhook_url(name: str) -> str:
    """The absolute URL the carrier calls back for one of our webhooks."""
    from django.urls import get_script_prefix

    return settings.PUBLIC_BASE_URL + _webhook_path(name, get_script_prefix())


@functools.lru_cache(maxsize=64)  # every call request names two of them
def _webhook_path(name: str, _prefix: str) -> str:
    from django.urls import reverse

    return reverse(name)


def carrier_call_record(*, org, call: CallInfo, to: str, from_number: str) -> CarrierCall:
    row, _ = CarrierCall.objects.get_or_create(
        sid=call.sid,
        defaults={
            "organization": org,
            "to": to,
            "from_number": from_number,
            "status": call.status,
            "status_rank": CALL_STATUS_RANK.get(call.status, 0),
        },
    )
    return row


def carrier_calls_record(calls: list[tuple[int, CallInfo, str, str]]) -> None:
    """Record calls the carrier accepted, given as (org id, call, to, from); one statement.
    A sid already recorded (reconciliation got there first) is left as it is."""
    rows_insert(
        CarrierCall,
        [
            {
                "organization_id": org_id,
                "sid": call.sid,
                "to": to,
                "from_number": from_number,
                "status": call.status,
                "status_rank": CALL_STATUS_RANK.get(call.status, 0),
            }
            for org_id, call, to, from_number in calls
        ],
        ignore_conflicts=True,
    )


def provider_error_handle(*, org, to: str, error: ProviderError) -> None:
    """What a refusal means beyond the attempt: an opted-out recipient joins the list."""
    if error.opted_out:
        suppression_add(
            org=org, e164=to, reason=Suppression.Reason.STOP, source=f"carrier:{error.code}"
        )


# --- The inbox --------------------------------------------------------------------------------


_INSERT_EVENT = (
    f"INSERT INTO {WebhookEvent._meta.db_table} "
    "(kind, sid, dedupe_key, sequence, payload, received_at, outcome) "
    "VALUES (%s, %s, %s, %s, %s, %s, '') ON CONFLICT (dedupe_key) DO NOTHING"
)


def inbox_store(*, kind: str, sid: str, dedupe_key: str, sequence: int, payload: dict) -> bool:
    """Store a callback once (one statement, one round trip); False when it was a repeat.

    The time is a parameter, not the database's `now()`, which SQLite (the demo) lacks.
    """
    received_at = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cur:
        cur.execute(
            _INSERT_EVENT, [kind, sid, dedupe_key, sequence, json.dumps(payload), received_at]
        )
        return cur.rowcount == 1


def inbox_reopen_unknown(*, sid: str) -> int:
    """Put a sid's events that were counted unknown back in the inbox: its row exists now
    (reconciliation found a call the platform lost track of)."""
    return WebhookEvent.objects.filter(sid=sid, outcome=Outcome.UNKNOWN_SID).update(
        processed_at=None, outcome=Outcome.PENDING, apply_after=None
    )


_last_scheduled = 0.0


def inbox_schedule_apply(*, on_commit: bool = True) -> None:
    """Enqueue one apply task per debounce window, however many callbacks arrive in it.

    The window is shared through Redis by every web process; each process also skips the
    Redis round trip while its own last scheduling is within the window. `on_commit=False`:
    enqueue now (the caller's row is committed, on a connection Django does not know).
    """
    global _last_scheduled
    now = time.monotonic()
    if now - _last_scheduled < INBOX_DEBOUNCE_MS / 1000:
        return
    _last_scheduled = now
    if get_redis().set(_SCHEDULED_KEY, "1", nx=True, px=INBOX_DEBOUNCE_MS):
        apply_inbox = task_signature(
            "messaging.webhooks.apply_inbox", countdown=INBOX_DEBOUNCE_MS / 1000
        )
        if on_commit:
            transaction.on_commit(apply_inbox.apply_async)
        else:
            apply_inbox.apply_async()


@dataclass
class _Batch:
    now: datetime
    outcomes: dict[int, str] = field(default_factory=dict)
    deferred: list[int] = field(default_factory=list)
    replies: list[tuple[str, str, str]] = field(default_factory=list)  # (to, from, body)
    calls: list[str] = field(default_factory=list)  # sids of the calls whose events applied

    def unknown(self, event: WebhookEvent) -> None:
        """An event whose sid has no row: wait a little for the row, then count it."""
        grace = timedelta(seconds=settings.INBOX_UNKNOWN_SID_GRACE_SECONDS)
        if event.received_at > self.now - grace:
            self.deferred.append(event.id)
        else:
            self.outcomes[event.id] = Outcome.UNKNOWN_SID


def inbox_apply_batch(*, limit: int = INBOX_BATCH) -> dict[str, int]:
    """Apply up to `limit` pending events; returns counts by outcome. Safe to run concurrently:
    a batch PostgreSQL aborts to break a deadlock with another writer is applied again."""
    batch = deadlock_retried(lambda: _inbox_apply(limit))
    if batch is None:
        return {}
    calls_applied_handle(sids=batch.calls)  # committed: the voice engine settles them
    for to, from_number, body in batch.replies:  # never call the carrier under row locks
        try:
            get_provider().send_sms(
                to=to,
                from_=from_number,
                body=body,
                status_callback=webhook_url("twilio-sms-status"),
            )
        except ProviderError as exc:
            log.warning("HELP reply to %s failed: %r", to, exc)
    counts: dict[str, int] = defaultdict(int)
    for outcome in batch.outcomes.values():
        counts[outcome] += 1
    if batch.deferred:
        counts["deferred"] = len(batch.deferred)
    return dict(counts)


def _inbox_apply(limit: int) -> "_Batch | None":
    """One transaction of inbox_apply_batch: the events applied and marked, or None."""
    batch = _Batch(now=timezone.now())
    with transaction.atomic():
        events = list(
            WebhookEvent.objects.filter(processed_at__isnull=True)
            .filter(Q(apply_after__isnull=True) | Q(apply_after__lte=batch.now))
            .order_by("id")
            .select_for_update(skip_locked=True, no_key=True)[:limit]
        )
        if not events:
            return None
        by_kind: dict[str, list[WebhookEvent]] = defaultdict(list)
        for event in events:
            by_kind[event.kind].append(event)
        _apply_call_status(by_kind[WebhookEvent.Kind.VOICE_STATUS], batch)
        _apply_amd(by_kind[WebhookEvent.Kind.VOICE_AMD], batch)
        _apply_message_status(by_kind[WebhookEvent.Kind.SMS_STATUS], batch)
        _apply_inbound(by_kind[WebhookEvent.Kind.SMS_INBOUND], batch)
        now = timezone.now()
        ids_by_outcome: dict[str, list[int]] = defaultdict(list)
        for event_id, outcome in batch.outcomes.items():
            ids_by_outcome[outcome].append(event_id)
        for outcome, ids in ids_by_outcome.items():
            WebhookEvent.objects.filter(id__in=ids).update(processed_at=now, outcome=outcome)
        if batch.deferred:
            WebhookEvent.objects.filter(id__in=batch.deferred).update(
                apply_after=now + timedelta(seconds=DEFER_SECONDS)
            )
    return batch


def _latest_known(events, rank_of, models_, batch: _Batch) -> dict[str, WebhookEvent]:
    """The highest-ranked event per sid that has a row in one of `models_`; the others are
    marked stale, and events for sids without a row wait for it (`_Batch.unknown`)."""
    latest: dict[str, WebhookEvent] = {}
    for event in events:
        best = latest.get(event.sid)
        if best is None or rank_of(event) > rank_of(best):
            latest[event.sid] = event
    known: set[str] = set()
    for model in models_:
        known.update(model.objects.filter(sid__in=latest).values_list("sid", flat=True))
    for event in events:
        if event.sid not in known:
            batch.unknown(event)
        elif latest[event.sid] is not event:
            batch.outcomes[event.id] = Outcome.STALE
    return {sid: event for sid, event in latest.items() if sid in known}


def _apply_call_status(events: list[WebhookEvent], batch: _Batch) -> None:
    def rank_of(e):
        return (CALL_STATUS_RANK.get(e.payload.get("CallStatus"), 0), e.sequence)

    for sid, event in _latest_known(events, rank_of, [CarrierCall], batch).items():
        p = event.payload
        status = p.get("CallStatus", "")
        rank, seq = rank_of(event)
        fields = {"status": status, "status_rank": rank, "sequence_number": seq}
        if rank >= TERMINAL_RANK:
            fields.update(
                ended_at=timezone.now(),
                duration_seconds=_int(p.get("CallDuration")),
                sip_response_code=_int(p.get("SipResponseCode")),
            )
        if p.get("AnsweredBy"):
            fields["answered_by"] = p["AnsweredBy"]
        moved = (
            CarrierCall.objects.filter(sid=sid)
            .filter(Q(status_rank__lt=rank) | Q(status_rank=rank, sequence_number__lt=seq))
            .update(updated_at=timezone.now(), **fields)
        )
        batch.outcomes[event.id] = Outcome.APPLIED if moved else Outcome.STALE
        if moved:
            batch.calls.append(sid)


def _apply_amd(events: list[WebhookEvent], batch: _Batch) -> None:
    known = set(
        CarrierCall.objects.filter(sid__in={e.sid for e in events}).values_list("sid", flat=True)
    )
    for event in events:
        if event.sid not in known:
            batch.unknown(event)
            continue
        moved = CarrierCall.objects.filter(sid=event.sid, machine_detection_ms__isnull=True).update(
            answered_by=event.payload.get("AnsweredBy", ""),
            machine_detection_ms=_int(event.payload.get("MachineDetectionDuration")) or 0,
            updated_at=timezone.now(),
        )
        batch.outcomes[event.id] = Outcome.APPLIED if moved else Outcome.STALE
        if moved:
            batch.calls.append(event.sid)


def _apply_message_status(events: list[WebhookEvent], batch: _Batch) -> None:
    def status_of(e):
        return e.payload.get("MessageStatus") or e.payload.get("SmsStatus", "")

    def rank_of(e):
        return (MESSAGE_STATUS_RANK.get(status_of(e), 0), 0)

    latest = _latest_known(events, rank_of, [CarrierMessage, Message], batch)
    # Delivery reports for the engines' texts (messaging.Message) go to the engine that sent
    # them; what is left are the carrier's records of texts no engine sent.
    campaign_texts = text_reports_handle(
        {sid: (status_of(e), _int(e.payload.get("ErrorCode")), e.id) for sid, e in latest.items()},
        batch.outcomes,
    )
    for sid, event in latest.items():
        if sid in campaign_texts:
            continue
        rank = rank_of(event)[0]
        fields = {"status": status_of(event), "status_rank": rank}
        if event.payload.get("ErrorCode"):
            fields["error_code"] = _int(event.payload["ErrorCode"])
        moved = CarrierMessage.objects.filter(sid=sid, status_rank__lt=rank).update(
            updated_at=timezone.now(), **fields
        )
        batch.outcomes[event.id] = Outcome.APPLIED if moved else Outcome.STALE


def _apply_inbound(events: list[WebhookEvent], batch: _Batch) -> None:
    for event in events:
        p = event.payload
        sender, to = p.get("From", ""), p.get("To", "")
        dids = list(Did.objects.filter(e164=to).select_related("organization"))
        if not dids:
            batch.outcomes[event.id] = Outcome.IGNORED
            continue
        kind = keywords.classify(p.get("Body", ""))
        for did in dids:
            org = did.organization
            if kind == "opt_out":
                suppression_add(
                    org=org, e164=sender, reason=Suppression.Reason.STOP, source="inbound_sms"
                )
            elif kind == "opt_in":
                suppression_remove_opt_out(org=org, e164=sender)
            elif kind == "help":
                batch.replies.append((sender, to, org.sms_help_text))
            else:
                prospects_mark_replied(org=org, e164=sender)
        batch.outcomes[event.id] = Outcome.APPLIED


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
