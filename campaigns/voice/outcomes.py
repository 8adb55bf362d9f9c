"""Outcomes: turning finished calls into attempt outcomes and prospect states; the sweeps.

`attempts_settle` is driven by the database, not by the order of events: it finds in-flight
attempts whose call has a final status (as the webhook inbox applied it) and settles them,
so running it twice, late, or from two workers changes nothing twice. A call whose AMD
verdict trails its completion, and a voicemail drop (campaigns.voice.voicemail) being asked for,
are waited for a little. The sweeps release claims that never produced an attempt, time out
calls that never finished, and reconcile attempts a crash left without a sid by asking the
carrier, never by dialing again.
"""

import logging
from collections import Counter, defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, DateTimeField, Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns.models import DEFAULT_HUMAN_HANGUP_SECONDS, CallAttempt
from campaigns.voice.voicemail import drops_missed
from config.celery import task_signature
from config.events import events_emit
from dids.health import health_event_fields, health_events_record
from messaging.models import CALL_STATUS_RANK, TERMINAL_RANK, CarrierCall
from messaging.providers import ProviderError, get_provider
from messaging.services import carrier_call_record, inbox_reopen_unknown
from prospects.models import Prospect, ProspectPhone

log = logging.getLogger(__name__)
Outcome = CallAttempt.Outcome
Drop = CallAttempt.Drop
SETTLE_BATCH = 500

# A prospect's status when an outcome is final for it (not retried).
FINAL_STATUS = {
    Outcome.HUMAN_CONNECTED: Prospect.Status.HUMAN_CONNECTED,
    Outcome.HUMAN_HANGUP: Prospect.Status.HUMAN_HANGUP,
    Outcome.VOICEMAIL: Prospect.Status.VOICEMAIL,
    Outcome.NO_ANSWER: Prospect.Status.NO_ANSWER,
    Outcome.BUSY: Prospect.Status.BUSY,
    Outcome.FAILED: Prospect.Status.FAILED,
    Outcome.TIMEOUT: Prospect.Status.FAILED,
    Outcome.CANCELED: Prospect.Status.CANCELLED,
}
# What a voicemail event says of the drop; `requested` at settling means no answer came back.
DROP_IN_EVENT = {
    Drop.NONE: "none",
    Drop.REQUESTED: "unknown",
    Drop.PLAYED: "played",
    Drop.FAILED: "failed",
}


def outcome_classify(
    *, status: str, answered_by: str, duration: int | None, human_hangup_seconds: int
) -> str:
    """The outcome of a finished call from its final status, AMD verdict and duration."""
    if status == "completed":
        if answered_by.startswith(("machine", "fax")):
            return Outcome.VOICEMAIL
        if (duration or 0) < human_hangup_seconds:
            return Outcome.HUMAN_HANGUP
        return Outcome.HUMAN_CONNECTED
    return {
        "busy": Outcome.BUSY,
        "no-answer": Outcome.NO_ANSWER,
        "canceled": Outcome.CANCELED,
    }.get(status, Outcome.FAILED)


def calls_applied(*, sids: list[str]) -> None:
    """The inbox applied status or verdict events of these calls (messaging.handlers): after
    commit, machines whose greeting just ended get their voicemail drop and the calls that
    just finished become outcomes. Both tasks find their work in the database."""
    for name in ("campaigns.dialer.drop_voicemails", "campaigns.dialer.settle"):
        transaction.on_commit(task_signature(name).apply_async)


def attempts_settle(*, now: datetime | None = None) -> dict[str, int]:
    """Settle in-flight attempts whose calls have finished; returns counts by outcome.

    Two kinds wait (the sweep settles them once their wait is over): an answered call placed
    with AMD whose verdict has not come yet, for DIALER_AMD_GRACE_SECONDS after its completion
    was applied (a verdict later than that corrects the outcome: campaigns.voice.late_verdicts);
    and an attempt whose voicemail drop is being asked for, until the carrier answers.
    """
    now = now or timezone.now()
    grace = timedelta(seconds=settings.DIALER_AMD_GRACE_SECONDS)
    drop_answer_due = now - grace - timedelta(seconds=settings.TWILIO_HTTP_TIMEOUT)
    counts: Counter[str] = Counter()
    while True:
        with transaction.atomic():
            finished = CarrierCall.objects.filter(
                sid=OuterRef("sid"), status_rank__gte=TERMINAL_RANK
            )
            verdict_due = CarrierCall.objects.filter(
                sid=OuterRef("sid"), status="completed", answered_by="", ended_at__gt=now - grace
            )
            attempts = list(
                CallAttempt.objects.filter(status=CallAttempt.Status.IN_FLIGHT)
                .filter(Exists(finished))
                .exclude(Exists(verdict_due), ~Q(machine_detection=""))
                .exclude(drop_status=Drop.REQUESTED, drop_requested_at__gt=drop_answer_due)
                .select_related("campaign")
                .select_for_update(skip_locked=True, no_key=True, of=("self",))
                .order_by("id")[:SETTLE_BATCH]
            )
            if not attempts:
                return dict(counts)
            calls = {
                c.sid: c for c in CarrierCall.objects.filter(sid__in=[a.sid for a in attempts])
            }
            for attempt in attempts:
                call = calls[attempt.sid]
                threshold = (
                    attempt.campaign.human_hangup_seconds
                    if attempt.campaign
                    else DEFAULT_HUMAN_HANGUP_SECONDS
                )
                attempt.outcome = outcome_classify(
                    status=call.status,
                    answered_by=call.answered_by,
                    duration=call.duration_seconds,
                    human_hangup_seconds=threshold,
                )
                attempt.answered_by = call.answered_by
                attempt.duration_seconds = call.duration_seconds
                counts[attempt.outcome] += 1
            drops_missed(attempts, {sid: call.answered_by for sid, call in calls.items()})
            _attempts_finish(attempts, now, calls)
            _prospects_after(attempts, now)
            _one_off_events(attempts)


def _attempts_finish(
    attempts: list[CallAttempt], now: datetime, calls: dict[str, CarrierCall] | None = None
) -> None:
    """Finish attempts (each carrying its `outcome`) with one UPDATE per outcome; the verdict,
    duration and end come from the carrier's record of the call (`calls`, by sid), `now` when
    it has none. Each finished call counts in its caller ID's health."""
    by_outcome: defaultdict[str, list[int]] = defaultdict(list)
    for attempt in attempts:
        by_outcome[attempt.outcome].append(attempt.pk)
    call = CarrierCall.objects.filter(sid=OuterRef("sid"))
    for outcome, ids in by_outcome.items():
        CallAttempt.objects.filter(pk__in=ids).exclude(status=CallAttempt.Status.FINISHED).update(
            status=CallAttempt.Status.FINISHED,
            outcome=outcome,
            answered_by=Coalesce(Subquery(call.values("answered_by")[:1]), Value("")),
            duration_seconds=Subquery(call.values("duration_seconds")[:1]),
            ended_at=Coalesce(
                Subquery(call.values("ended_at")[:1]), Value(now, output_field=DateTimeField())
            ),
        )
    calls = calls or {}
    health_events_record(
        [
            {
                "did_id": attempt.did_id,
                "organization_id": attempt.organization_id,
                "attempt_id": attempt.pk,
                "created_at": now,
                **health_event_fields(
                    outcome=attempt.outcome,
                    answered_by=getattr(calls.get(attempt.sid), "answered_by", ""),
                    duration=getattr(calls.get(attempt.sid), "duration_seconds", None),
                    sip_code=getattr(calls.get(attempt.sid), "sip_response_code", None),
                ),
            }
            for attempt in attempts
        ]
    )


def _prospects_after(attempts: list[CallAttempt], now: datetime) -> None:
    """Each settled attempt's prospect: retried after the delay, exhausted, or final; one
    UPDATE per resulting state, and only where the prospect still holds that attempt's claim."""
    ids = [a.prospect_id for a in attempts if a.prospect_id]
    if not ids:
        return
    attempt_counts = dict(Prospect.objects.filter(pk__in=ids).values_list("id", "attempt_count"))
    numbers = phone_counts(ids)
    groups: defaultdict[tuple, list[CallAttempt]] = defaultdict(list)
    events = []
    for attempt in attempts:
        campaign = attempt.campaign
        if attempt.prospect_id not in attempt_counts or campaign is None:
            continue
        status, next_at = prospect_next_state(
            attempt, attempt_counts[attempt.prospect_id], numbers.get(attempt.prospect_id, 0), now
        )
        groups[(status, attempt.outcome, next_at)].append(attempt)
        events.append(call_event(attempt, retry=next_at is not None))
    for (status, outcome, next_at), group in groups.items():
        fields = {"status": status, "last_outcome": outcome, "locked_by": "", "locked_at": None}
        if next_at is not None:
            fields["next_attempt_at"] = next_at
        own_claim = CallAttempt.objects.filter(
            pk__in=[a.pk for a in group], prospect_id=OuterRef("pk"), claim=OuterRef("locked_by")
        )
        Prospect.objects.filter(
            pk__in=[a.prospect_id for a in group], status=Prospect.Status.DIALING
        ).filter(Exists(own_claim)).update(updated_at=now, **fields)
    events_emit(events)


def phone_counts(prospect_ids: list[int]) -> dict[int, int]:
    """How many numbers each prospect has (absent: none)."""
    return dict(
        ProspectPhone.objects.filter(prospect_id__in=prospect_ids)
        .values_list("prospect_id")
        .annotate(n=Count("id"))
        .order_by()
    )


def prospect_next_state(
    attempt: CallAttempt, attempt_count: int, numbers: int, now: datetime
) -> tuple[str, datetime | None]:
    """The prospect's status after this attempt's outcome, and when it is due if queued.

    An outcome the campaign retries comes back after its delay, or leaves the prospect
    exhausted when every number used its attempts; a voicemail whose drop was played (or
    may have been) is final.
    """
    campaign, outcome = attempt.campaign, attempt.outcome
    dropped = outcome == Outcome.VOICEMAIL and attempt.drop_status in (Drop.PLAYED, Drop.REQUESTED)
    if outcome not in campaign.retry_outcomes or dropped:
        return FINAL_STATUS.get(outcome, Prospect.Status.FAILED), None
    if attempt_count // campaign.max_attempts_per_phone_number >= numbers:
        return Prospect.Status.EXHAUSTED, None
    return Prospect.Status.QUEUED, now + timedelta(minutes=campaign.retry_delay_minutes)


def call_event(attempt: CallAttempt, *, retry: bool, **extra) -> tuple:
    """`campaign.call.<outcome>` for the live feed: who was called from which caller ID, how
    it went, whether it comes back; a voicemail also says what became of the drop."""
    data = {
        "prospect": attempt.prospect_id,
        "sid": attempt.sid,
        "to": attempt.to,
        "caller_id": attempt.from_number,
        "answered_by": attempt.answered_by,
        "duration": attempt.duration_seconds,
        "retry": retry,
        **extra,
    }
    if attempt.outcome == Outcome.VOICEMAIL:
        data["drop"] = DROP_IN_EVENT[attempt.drop_status]
    return (f"campaign.call.{attempt.outcome}", attempt.organization_id, attempt.campaign_id, data)


def _one_off_events(attempts: list[CallAttempt]) -> None:
    """Settled one-off calls (no campaign) on their org's stream: `call.<outcome>`."""
    events_emit([one_off_event(a) for a in attempts if a.campaign_id is None])


def one_off_event(attempt: CallAttempt, **extra) -> tuple:
    """`call.<outcome>` of a one-off call, for its org's stream."""
    data = {
        "call": attempt.pk,
        "to": attempt.to,
        "caller_id": attempt.from_number,
        "answered_by": attempt.answered_by,
        "duration": attempt.duration_seconds,
        **extra,
    }
    return (f"call.{attempt.outcome}", attempt.organization_id, None, data)


# --- Sweeps -------------------------------------------------------------------------------


def call_claims_release_stale(*, now: datetime | None = None) -> int:
    """Claims older than PROSPECT_LOCK_TIMEOUT_SECONDS that never wrote an attempt (the
    dispatcher or its task died) go back to the queue. A prospect whose call is in flight
    has an attempt for its claim and is never touched."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.PROSPECT_LOCK_TIMEOUT_SECONDS)
    attempt = CallAttempt.objects.filter(prospect_id=OuterRef("pk"), claim=OuterRef("locked_by"))
    return (
        Prospect.objects.filter(status=Prospect.Status.DIALING, locked_at__lt=cutoff)
        .exclude(Exists(attempt))
        .update(
            status=Prospect.Status.QUEUED,
            locked_by="",
            locked_at=None,
            next_attempt_at=now,
            updated_at=now,
        )
    )


def attempts_time_out(*, now: datetime | None = None) -> int:
    """Calls with no final status DIALER_CALL_TIMEOUT_SECONDS after they were placed end as
    `timeout` (and are retried when the campaign's policy says so)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.DIALER_CALL_TIMEOUT_SECONDS)
    with transaction.atomic():
        attempts = list(
            CallAttempt.objects.filter(status=CallAttempt.Status.IN_FLIGHT, created_at__lt=cutoff)
            .select_related("campaign")
            .select_for_update(skip_locked=True, no_key=True, of=("self",))[:SETTLE_BATCH]
        )
        for attempt in attempts:
            attempt.outcome = Outcome.TIMEOUT
        _attempts_finish(attempts, now)
        _prospects_after(attempts, now)
        _one_off_events(attempts)
    return len(attempts)


def attempts_reconcile(*, now: datetime | None = None) -> dict[str, int]:
    """Attempts left `originating` (written, then the worker died before the sid was stored):
    ask the carrier for a call to that number from that caller ID since the attempt began.
    Found: the sid is stored and callbacks take it from there. Not found: the call was never
    placed, so the prospect goes back to the queue with the attempt not counted."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.DIALER_RECONCILE_AFTER_SECONDS)
    counts: Counter[str] = Counter()
    stuck = list(
        CallAttempt.objects.filter(status=CallAttempt.Status.ORIGINATING, created_at__lt=cutoff)
        .select_related("organization")
        .order_by("id")[:SETTLE_BATCH]
    )
    provider = get_provider() if stuck else None
    for attempt in stuck:
        try:
            calls = provider.list_calls(
                to=attempt.to,
                from_=attempt.from_number,
                started_after=attempt.created_at - timedelta(minutes=1),
            )
        except ProviderError as exc:
            log.warning("reconciliation of attempt %s deferred: %r", attempt.pk, exc)
            counts["deferred"] += 1
            continue
        known = set(
            CallAttempt.objects.filter(sid__in=[c.sid for c in calls]).values_list("sid", flat=True)
        )
        match = next((c for c in sorted(calls, key=lambda c: c.sid) if c.sid not in known), None)
        if match is not None:
            with transaction.atomic():
                updated = CallAttempt.objects.filter(
                    pk=attempt.pk, status=CallAttempt.Status.ORIGINATING
                ).update(sid=match.sid, status=CallAttempt.Status.IN_FLIGHT)
                if updated:
                    row = carrier_call_record(
                        org=attempt.organization,
                        call=match,
                        to=attempt.to,
                        from_number=attempt.from_number,
                    )
                    rank = CALL_STATUS_RANK.get(match.status, 0)
                    CarrierCall.objects.filter(pk=row.pk, status_rank__lte=rank).update(
                        status=match.status,
                        status_rank=rank,
                        answered_by=match.answered_by or "",
                        duration_seconds=match.duration,
                        ended_at=match.end_time,
                    )
                    # Its callbacks may have come and been counted unknown meanwhile.
                    inbox_reopen_unknown(sid=match.sid)
            counts["found"] += 1
            continue
        with transaction.atomic():
            done = CallAttempt.objects.filter(
                pk=attempt.pk, status=CallAttempt.Status.ORIGINATING
            ).update(status=CallAttempt.Status.FINISHED, outcome=Outcome.REJECTED, ended_at=now)
            if done and attempt.prospect_id:
                Prospect.objects.filter(
                    pk=attempt.prospect_id, status=Prospect.Status.DIALING, locked_by=attempt.claim
                ).update(
                    status=Prospect.Status.QUEUED,
                    locked_by="",
                    locked_at=None,
                    next_attempt_at=now,
                    attempt_count=F("attempt_count") - 1,
                    last_outcome="never_placed",
                    updated_at=now,
                )
        counts["never_placed"] += 1
    return dict(counts)
