"""Placing a campaign's calls: the last checks, the caller ID, the attempt row, the carrier.

For each claimed prospect, in its own short transaction: re-check the claim, the number to
dial, suppression and the calling window (state may have changed since the claim), choose
the caller ID, and write the `originating` attempt. Then, outside any transaction, the
carrier is asked to place the calls of the batch concurrently and their sids are stored.
A redelivered task finds the attempt rows of its claim and places nothing again.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from campaigns.events import event_emit
from campaigns.models import CallAttempt, Campaign
from dids.selection import did_select_for_call
from messaging.providers import (
    CallInfo,
    CallRequest,
    ProviderError,
    carrier_each,
    get_provider,
    retry_delay,
)
from messaging.services import carrier_call_record, provider_error_handle, webhook_url
from prospects import windows
from prospects.models import Prospect, Suppression

log = logging.getLogger(__name__)
MAX_PARALLEL_CALLS = 16
DEFAULT_TWIML = '<Response><Pause length="1"/></Response>'
Status = Prospect.Status


@dataclass
class Prepared:
    attempt: CallAttempt
    request: CallRequest


def calls_place(
    *, campaign_id: int, claim: str, prospect_ids: list[int], now: datetime | None = None
) -> dict[str, int]:
    """Place the calls of one claimed batch; returns counts by what happened."""
    campaign = Campaign.objects.select_related("organization").filter(pk=campaign_id).first()
    counts: dict[str, int] = {}
    if campaign is None:
        return counts
    now = now or timezone.now()
    prepared: list[Prepared] = []
    for pid in prospect_ids:
        what, item = _prepare(campaign, pid, claim, now)
        counts[what] = counts.get(what, 0) + 1
        if item is not None:
            prepared.append(item)
    # Only the carrier requests run in threads; every database write stays on this one.
    answers = carrier_each(
        lambda item: get_provider().originate_call(item.request),
        prepared,
        parallel=MAX_PARALLEL_CALLS,
    )
    for item, answer in zip(prepared, answers, strict=True):
        what = attempt_record(item.attempt, answer)
        counts[what] = counts.get(what, 0) + 1
    return counts


def _release(pid: int, claim: str, *, when: datetime, **fields) -> int:
    """Back to the queue (due at `when`), if the claim is still ours."""
    return Prospect.objects.filter(pk=pid, status=Status.DIALING, locked_by=claim).update(
        status=Status.QUEUED, locked_by="", locked_at=None, next_attempt_at=when, **fields
    )


def _finish(pid: int, claim: str, status: str, outcome: str) -> int:
    return Prospect.objects.filter(pk=pid, status=Status.DIALING, locked_by=claim).update(
        status=status, locked_by="", locked_at=None, last_outcome=outcome
    )


def _prepare(campaign: Campaign, pid: int, claim: str, now: datetime):
    org = campaign.organization
    with transaction.atomic():
        prospect = (
            Prospect.objects.select_for_update()
            .filter(pk=pid, status=Status.DIALING, locked_by=claim)
            .first()
        )
        if prospect is None:
            return "not_claimed", None
        if CallAttempt.objects.filter(prospect_id=pid, claim=claim).exists():
            return "already_placed", None  # a redelivered task: reconciliation owns it
        if campaign.status != Campaign.Status.DIALING:
            _release(pid, claim, when=now)
            return "campaign_not_dialing", None
        phones = list(prospect.phones.order_by("position").values_list("e164", flat=True))
        index = prospect.attempt_count // campaign.max_attempts_per_phone_number
        if index >= len(phones):
            # Every number used: failed when the carrier refused every one of them.
            reached = CallAttempt.objects.filter(prospect_id=pid).exclude(
                outcome=CallAttempt.Outcome.REJECTED
            )
            failed = phones and not reached.exists()
            _finish(
                pid,
                claim,
                Status.FAILED if failed else Status.EXHAUSTED,
                prospect.last_outcome or "no_numbers",
            )
            return "exhausted", None
        to = phones[index]
        if Suppression.objects.filter(organization_id=org.id, e164=to).exists():
            _finish(pid, claim, Status.CANCELLED, "dnc")
            event_emit(
                "campaign.prospect.dnc", org_id=org.id, campaign_id=campaign.id, prospect=pid, to=to
            )
            return "dnc", None
        verdict = windows.check(
            to,
            now,
            channel="voice",
            policy=campaign.calling_policy,
            windows=windows.parse_windows(campaign.calling_windows),
            explicit_tz=prospect.timezone,
        )
        if not verdict.allowed:
            when = verdict.next_allowed_at or now + timedelta(hours=1)
            _release(pid, claim, when=when)
            return "outside_window", None
        did = did_select_for_call(
            org_id=org.id, to=to, caller_id_filter=campaign.caller_id_filter, now=now
        )
        if did is None:
            _release(pid, claim, when=now)
            paused = Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.DIALING).update(
                status=Campaign.Status.PAUSED, pause_reason="no_dids", updated_at=now
            )
            if paused:
                event_emit("campaign.paused.no_dids", org_id=org.id, campaign_id=campaign.id)
            campaign.status = Campaign.Status.PAUSED
            return "no_dids", None
        attempt = CallAttempt.objects.create(
            organization=org,
            campaign=campaign,
            prospect_id=pid,
            pool=CallAttempt.Pool.CAMPAIGN,
            attempt_number=prospect.attempt_count,
            claim=claim,
            to=to,
            did=did,
            from_number=did.e164,
            machine_detection="DetectMessageEnd" if campaign.voicemail_drop else "Enable",
            created_at=now,
        )
        Prospect.objects.filter(pk=pid).update(attempt_count=F("attempt_count") + 1)
        event_emit(
            "campaign.call.initiated",
            org_id=org.id,
            campaign_id=campaign.id,
            prospect=pid,
            to=to,
            caller_id=did.e164,
        )
    request = CallRequest(
        to=to,
        from_=did.e164,
        status_callback=webhook_url("twilio-voice-status"),
        twiml=campaign.twiml or DEFAULT_TWIML,
        machine_detection=attempt.machine_detection,
        amd_callback=webhook_url("twilio-voice-amd"),
    )
    return "prepared", Prepared(attempt=attempt, request=request)


def attempt_record(attempt: CallAttempt, answer: CallInfo | ProviderError) -> str:
    """Store what the carrier answered to a written attempt: its sid, or what a refusal means."""
    if isinstance(answer, ProviderError):
        return _refused(attempt, answer)
    # Both or neither: a crash between them would leave a sid whose callbacks match no call.
    with transaction.atomic():
        CallAttempt.objects.filter(pk=attempt.pk, status=CallAttempt.Status.ORIGINATING).update(
            sid=answer.sid, status=CallAttempt.Status.IN_FLIGHT
        )
        carrier_call_record(
            org=attempt.organization, call=answer, to=attempt.to, from_number=attempt.from_number
        )
    return "placed"


def _refused(attempt: CallAttempt, error: ProviderError) -> str:
    now = timezone.now()
    CallAttempt.objects.filter(pk=attempt.pk).update(
        status=CallAttempt.Status.FINISHED,
        outcome=CallAttempt.Outcome.REJECTED,
        error_code=error.code,
        ended_at=now,
    )
    pid, claim = attempt.prospect_id, attempt.claim
    if pid is None:
        return "refused"
    if error.opted_out:
        provider_error_handle(org=attempt.organization, to=attempt.to, error=error)
        _finish(pid, claim, Status.CANCELLED, "opted_out")
        return "opted_out"
    if error.permanent_for_number:
        # Skip this number: the next attempt goes to the prospect's next number.
        per_number = attempt.campaign.max_attempts_per_phone_number
        next_first = (attempt.attempt_number // per_number + 1) * per_number
        _release(pid, claim, when=now, attempt_count=next_first, last_outcome=f"error_{error.code}")
        return "number_refused"
    # Transient (or a refusal that is not about the number): try again later; it did not count.
    delay = retry_delay(min(attempt.attempt_number, 8), base=5.0, retry_after=error.retry_after)
    _release(
        pid,
        claim,
        when=now + timedelta(seconds=delay),
        attempt_count=F("attempt_count") - 1,
        last_outcome=f"error_{error.code or 'carrier'}",
    )
    log.warning("carrier refused a call to %s: %r", attempt.to, error)
    return "carrier_error"
