"""Placing a campaign's calls: the last checks, the caller IDs, the attempt rows, the carrier.

A task carries one claimed batch. In one short transaction the batch is re-checked with a
few set-based statements (the claim, the number to dial, suppression, the calling window:
state may have changed since the claim), its caller IDs are chosen and its `originating`
attempts written. Then, outside any transaction, the carrier is asked to place the calls
concurrently, and their sids are stored together with the carrier's records of the calls.
A redelivered task finds the attempt rows of its claim and places nothing again.
"""

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from campaigns.events import event_emit, events_emit
from campaigns.models import CallAttempt, Campaign
from config.bulk import objects_insert, rows_update
from dids.selection import dids_select_for_calls
from messaging.providers import (
    CallInfo,
    CallRequest,
    ProviderError,
    carrier_answer,
    get_provider,
    retry_delay,
)
from messaging.services import carrier_calls_record, provider_error_handle, webhook_url
from prospects import windows
from prospects.models import Prospect, ProspectPhone, Suppression

log = logging.getLogger(__name__)
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
    counts: Counter[str] = Counter()
    if campaign is None:
        return {}
    prepared = _prepare(campaign, sorted(set(prospect_ids)), claim, now or timezone.now(), counts)
    if prepared:
        # Only the carrier requests run concurrently; every database write stays on this thread.
        answers = get_provider().originate_calls([p.request for p in prepared])
        counts.update(attempts_record([p.attempt for p in prepared], answers))
    return {what: n for what, n in counts.items() if n}


def _release(pids: list[int], claim: str, *, when: datetime, **fields) -> int:
    """Back to the queue (due at `when`), where the claim is still ours."""
    return Prospect.objects.filter(pk__in=pids, status=Status.DIALING, locked_by=claim).update(
        status=Status.QUEUED, locked_by="", locked_at=None, next_attempt_at=when, **fields
    )


def _finish(pids: list[int], claim: str, status: str, outcome: str) -> int:
    return Prospect.objects.filter(pk__in=pids, status=Status.DIALING, locked_by=claim).update(
        status=status, locked_by="", locked_at=None, last_outcome=outcome
    )


def _prepare(
    campaign: Campaign, pids: list[int], claim: str, now: datetime, counts: Counter
) -> list[Prepared]:
    """Re-check a claimed batch and write its attempts; returns the calls to place."""
    org = campaign.organization
    with transaction.atomic():
        prospects = list(
            Prospect.objects.select_for_update()
            .filter(pk__in=pids, status=Status.DIALING, locked_by=claim)
            .only("id", "attempt_count", "last_outcome", "timezone")
            .order_by("id")
        )
        counts["not_claimed"] += len(pids) - len(prospects)
        placed = set(
            CallAttempt.objects.filter(
                prospect_id__in=[p.id for p in prospects], claim=claim
            ).values_list("prospect_id", flat=True)
        )
        counts["already_placed"] += len(placed)  # a redelivered task: reconciliation owns them
        prospects = [p for p in prospects if p.id not in placed]
        if not prospects:
            return []
        status = Campaign.objects.filter(pk=campaign.pk).values_list("status", flat=True).first()
        if status != Campaign.Status.DIALING:
            counts["campaign_not_dialing"] += _release([p.id for p in prospects], claim, when=now)
            return []
        numbers = _numbers_to_dial(campaign, prospects, claim, counts)
        numbers = _drop_suppressed(campaign, numbers, claim, counts)
        numbers = _inside_window(campaign, prospects, numbers, claim, now, counts)
        if not numbers:
            return []
        pids = list(numbers)
        dids = dids_select_for_calls(
            org_id=org.id,
            tos=[numbers[pid] for pid in pids],
            caller_id_filter=campaign.caller_id_filter,
            now=now,
        )
        if dids[0] is None:
            _no_dids(campaign, pids, claim, now)
            counts["no_dids"] += len(pids)
            return []
        tries = {p.id: p.attempt_count for p in prospects}
        attempts = objects_insert(
            [
                CallAttempt(
                    organization=org,
                    campaign=campaign,
                    prospect_id=pid,
                    pool=CallAttempt.Pool.CAMPAIGN,
                    attempt_number=tries[pid],
                    claim=claim,
                    to=numbers[pid],
                    did=did,
                    from_number=did.e164,
                    machine_detection="DetectMessageEnd" if campaign.voicemail_drop else "Enable",
                    created_at=now,
                )
                for pid, did in zip(pids, dids, strict=True)
            ]
        )
        Prospect.objects.filter(pk__in=pids).update(attempt_count=F("attempt_count") + 1)
        events_emit(
            [
                (
                    "campaign.call.initiated",
                    org.id,
                    campaign.id,
                    {"prospect": a.prospect_id, "to": a.to, "caller_id": a.from_number},
                )
                for a in attempts
            ]
        )
    counts["prepared"] += len(attempts)
    return [Prepared(attempt=a, request=_call_request(campaign, a)) for a in attempts]


def _numbers_to_dial(
    campaign: Campaign, prospects: list[Prospect], claim: str, counts: Counter
) -> dict[int, str]:
    """The number each prospect's attempt dials (by attempt count and the campaign's attempts
    per number); prospects with every number used end exhausted, or failed when the carrier
    refused every one of them."""
    phones: defaultdict[int, list[str]] = defaultdict(list)
    for pid, e164 in (
        ProspectPhone.objects.filter(prospect_id__in=[p.id for p in prospects])
        .order_by("prospect_id", "position")
        .values_list("prospect_id", "e164")
    ):
        phones[pid].append(e164)
    numbers, used_up = {}, []
    for prospect in prospects:
        index = prospect.attempt_count // campaign.max_attempts_per_phone_number
        if index < len(phones[prospect.id]):
            numbers[prospect.id] = phones[prospect.id][index]
        else:
            used_up.append(prospect)
    if used_up:
        reached = set(
            CallAttempt.objects.filter(prospect_id__in=[p.id for p in used_up])
            .exclude(outcome=CallAttempt.Outcome.REJECTED)
            .values_list("prospect_id", flat=True)
        )
        ends: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
        for p in used_up:
            refused_all = phones[p.id] and p.id not in reached
            status = Status.FAILED if refused_all else Status.EXHAUSTED
            ends[(status, p.last_outcome or "no_numbers")].append(p.id)
        for (status, outcome), ids in ends.items():
            _finish(ids, claim, status, outcome)
        counts["exhausted"] += len(used_up)
    return numbers


def _drop_suppressed(
    campaign: Campaign, numbers: dict[int, str], claim: str, counts: Counter
) -> dict[int, str]:
    """Prospects whose number is on the org's suppression list are cancelled."""
    org_id = campaign.organization_id
    suppressed = set(
        Suppression.objects.filter(
            organization_id=org_id, e164__in=set(numbers.values())
        ).values_list("e164", flat=True)
    )
    dnc = {pid: to for pid, to in numbers.items() if to in suppressed}
    if dnc:
        _finish(list(dnc), claim, Status.CANCELLED, "dnc")
        events_emit(
            [
                ("campaign.prospect.dnc", org_id, campaign.id, {"prospect": pid, "to": to})
                for pid, to in dnc.items()
            ]
        )
        counts["dnc"] += len(dnc)
    return {pid: to for pid, to in numbers.items() if pid not in dnc}


def _inside_window(
    campaign: Campaign,
    prospects: list[Prospect],
    numbers: dict[int, str],
    claim: str,
    now: datetime,
    counts: Counter,
) -> dict[int, str]:
    """Prospects outside their calling window go back to the queue until it opens."""
    explicit = {p.id: p.timezone for p in prospects}
    parsed = windows.parse_windows(campaign.calling_windows)
    later: defaultdict[datetime, list[int]] = defaultdict(list)
    for pid, to in numbers.items():
        verdict = windows.check(
            to,
            now,
            channel="voice",
            policy=campaign.calling_policy,
            windows=parsed,
            explicit_tz=explicit[pid],
        )
        if not verdict.allowed:
            later[verdict.next_allowed_at or now + timedelta(hours=1)].append(pid)
    for when, ids in later.items():
        _release(ids, claim, when=when)
        counts["outside_window"] += len(ids)
    waiting = {pid for ids in later.values() for pid in ids}
    return {pid: to for pid, to in numbers.items() if pid not in waiting}


def _no_dids(campaign: Campaign, pids: list[int], claim: str, now: datetime) -> None:
    """No healthy caller ID left: the prospects wait, the campaign pauses until resumed."""
    _release(pids, claim, when=now)
    paused = Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.DIALING).update(
        status=Campaign.Status.PAUSED, pause_reason="no_dids", updated_at=now
    )
    if paused:
        event_emit(
            "campaign.paused.no_dids", org_id=campaign.organization_id, campaign_id=campaign.id
        )
    campaign.status = Campaign.Status.PAUSED


def _call_request(campaign: Campaign, attempt: CallAttempt) -> CallRequest:
    return call_request(
        to=attempt.to,
        from_=attempt.from_number,
        twiml=campaign.twiml,
        machine_detection=attempt.machine_detection,
    )


def call_request(
    *, to: str, from_: str, twiml: str = "", twiml_url: str = "", machine_detection: str = "Enable"
) -> CallRequest:
    """What the carrier is asked for: the call, our status and AMD callbacks, the TwiML."""
    return CallRequest(
        to=to,
        from_=from_,
        status_callback=webhook_url("twilio-voice-status"),
        twiml=twiml or DEFAULT_TWIML,
        twiml_url=twiml_url or None,
        machine_detection=machine_detection,
        amd_callback=webhook_url("twilio-voice-amd"),
    )


def carrier_ask(request: CallRequest) -> CallInfo | ProviderError:
    """The carrier's answer to one call request: the call, or its refusal (never raised)."""
    return carrier_answer(get_provider().originate_call, request)


def attempts_record(
    attempts: list[CallAttempt], answers: list[CallInfo | ProviderError]
) -> Counter[str]:
    """Store what the carrier answered to written attempts: their sids, or what a refusal
    means; returns counts by what happened."""
    counts: Counter[str] = Counter()
    calls = {}
    for attempt, answer in zip(attempts, answers, strict=True):
        if isinstance(answer, ProviderError) and answer.maybe_done:
            # The call may be live: the attempt stays `originating` for reconciliation to
            # look up at the carrier; dialing again could call the person twice.
            log.warning("no answer from the carrier for a call to %s: %r", attempt.to, answer)
            counts["unconfirmed"] += 1
        elif isinstance(answer, ProviderError):
            counts[_refused(attempt, answer)] += 1
        else:
            calls[attempt.pk] = (attempt, answer)
    if not calls:
        return counts
    # Sid and carrier record together or neither: a crash between them would leave a sid
    # whose callbacks match no call. (An attempt reconciliation settled meanwhile keeps its
    # state; the carrier's record of the call is kept all the same.)
    with transaction.atomic():
        rows_update(
            CallAttempt,
            ["sid", "status"],
            [(pk, call.sid, CallAttempt.Status.IN_FLIGHT) for pk, (_, call) in calls.items()],
            only_if={"status": CallAttempt.Status.ORIGINATING},
        )
        carrier_calls_record(
            [(a.organization_id, call, a.to, a.from_number) for a, call in calls.values()]
        )
    counts["placed"] += len(calls)
    return counts


def attempt_record(attempt: CallAttempt, answer: CallInfo | ProviderError) -> str:
    """Store what the carrier answered to one written attempt (see attempts_record)."""
    return next(iter(attempts_record([attempt], [answer])))


def _refused(attempt: CallAttempt, error: ProviderError) -> str:
    now = timezone.now()
    CallAttempt.objects.filter(pk=attempt.pk).update(
        status=CallAttempt.Status.FINISHED,
        outcome=CallAttempt.Outcome.REJECTED,
        error_code=error.code,
        ended_at=now,
    )
    if error.opted_out:
        provider_error_handle(org=attempt.organization, to=attempt.to, error=error)
    pid, claim = attempt.prospect_id, attempt.claim
    if pid is None:  # a one-off call: its caller hears of the refusal
        return "opted_out" if error.opted_out else "refused"
    if error.opted_out:
        _finish([pid], claim, Status.CANCELLED, "opted_out")
        return "opted_out"
    if error.permanent_for_number:
        # Skip this number: the next attempt goes to the prospect's next number.
        per_number = attempt.campaign.max_attempts_per_phone_number
        next_first = (attempt.attempt_number // per_number + 1) * per_number
        _release(
            [pid], claim, when=now, attempt_count=next_first, last_outcome=f"error_{error.code}"
        )
        return "number_refused"
    # Transient (or a refusal that is not about the number): try again later; it did not count.
    delay = retry_delay(min(attempt.attempt_number, 8), base=5.0, retry_after=error.retry_after)
    _release(
        [pid],
        claim,
        when=now + timedelta(seconds=delay),
        attempt_count=F("attempt_count") - 1,
        last_outcome=f"error_{error.code or 'carrier'}",
    )
    log.warning("carrier refused a call to %s: %r", attempt.to, error)
    return "carrier_error"
