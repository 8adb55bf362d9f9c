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
from datetime import UTC, datetime, time, timedelta
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from campaigns.models import CallAttempt, Campaign
from campaigns.services import campaign_auto_pause
from config.bulk import rows_insert, rows_update, sql_in, sql_rows
from config.deadlocks import deadlock_retried
from config.events import events_emit
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
from orgs.models import Organization
from prospects import windows
from prospects.models import Prospect, ProspectPhone, Suppression

log = logging.getLogger(__name__)
DEFAULT_TWIML = '<Response><Pause length="1"/></Response>'
Status = Prospect.Status


@dataclass(slots=True)
class Placing:
    """A written campaign attempt on its way to the carrier: what recording the carrier's
    answer needs of it (a CallAttempt has the same attributes)."""

    pk: int
    organization: Organization
    campaign: Campaign
    prospect_id: int
    claim: str
    attempt_number: int
    to: str
    from_number: str

    @property
    def organization_id(self) -> int:
        return self.organization.id


@dataclass
class Prepared:
    attempt: Placing
    request: CallRequest


def calls_place(
    *, campaign_id: int, claim: str, prospect_ids: list[int], now: datetime | None = None
) -> dict[str, int]:
    """Place the calls of one claimed batch; returns counts by what happened."""
    campaign = Campaign.objects.select_related("organization").filter(pk=campaign_id).first()
    counts: Counter[str] = Counter()
    if campaign is None:
        return {}
    pids, when = sorted(set(prospect_ids)), now or timezone.now()

    def prepare() -> list[Prepared]:
        tried: Counter[str] = Counter()  # an aborted try's counts are not kept
        done = _prepare(campaign, pids, claim, when, tried)
        counts.update(tried)
        return done

    # Its prospects stay claimed when a try is aborted: a batch that lost a deadlock (with a
    # call being settled, say) tries again rather than wait for the stale-claim sweep.
    prepared = deadlock_retried(prepare)
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


class _Claimed(NamedTuple):
    id: int
    attempt_count: int
    last_outcome: str
    timezone: str
    placed: bool  # a redelivered task: this claim already wrote its attempt


# {ids} is an sql_in clause; the parameters are the claim, the ids, the status and the claim.
_CLAIMED_SQL = f"""
SELECT p.id, p.attempt_count, p.last_outcome, p.timezone,
       EXISTS (SELECT 1 FROM {CallAttempt._meta.db_table} a
                WHERE a.prospect_id = p.id AND a.claim = %s)
  FROM {Prospect._meta.db_table} p
 WHERE p.id {{ids}} AND p.status = %s AND p.locked_by = %s
 ORDER BY p.id
"""


def _prepare(
    campaign: Campaign, pids: list[int], claim: str, now: datetime, counts: Counter
) -> list[Prepared]:
    """Re-check a claimed batch and write its attempts; returns the calls to place.

    A batch runs many times a second, so its statements are plain SQL with the ids as one
    parameter: composing them through the ORM costs more CPU than the database spends on
    them."""
    org = campaign.organization
    with transaction.atomic():
        ids, ids_param = sql_in(pids)
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        claimed = [
            _Claimed(*row)
            for row in sql_rows(
                _CLAIMED_SQL.format(ids=ids) + lock,
                [claim, ids_param, Prospect.Status.DIALING, claim],
            )
        ]
        counts["not_claimed"] += len(pids) - len(claimed)
        prospects = [p for p in claimed if not p.placed]
        counts["already_placed"] += len(claimed) - len(prospects)  # reconciliation owns them
        if not prospects:
            return []
        status = sql_rows(
            f"SELECT status FROM {Campaign._meta.db_table} WHERE id = %s", [campaign.pk]
        )
        if status != [(Campaign.Status.DIALING,)]:
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
        if dids is None:
            _no_dids(campaign, pids, claim, now)
            counts["no_dids"] += len(pids)
            return []
        capped = [pid for pid, did in zip(pids, dids, strict=True) if did is None]
        if capped:  # every caller ID made its calls for today: tomorrow (UTC)
            tomorrow = datetime.combine(now.date() + timedelta(days=1), time(), tzinfo=UTC)
            counts["daily_cap"] += _release(capped, claim, when=tomorrow)
            pids = [pid for pid, did in zip(pids, dids, strict=True) if did]
            dids = [did for did in dids if did]
            if not pids:
                return []
        tries = {p.id: p.attempt_count for p in prospects}
        rows = [
            {
                "organization_id": org.id,
                "campaign_id": campaign.id,
                "prospect_id": pid,
                "pool": CallAttempt.Pool.CAMPAIGN.value,
                "attempt_number": tries[pid],
                "claim": claim,
                "to": numbers[pid],
                "did_id": did.id,
                "from_number": did.e164,
                "machine_detection": _detection(campaign),
                "created_at": now,
            }
            for pid, did in zip(pids, dids, strict=True)
        ]
        attempts = [
            Placing(
                pk,
                org,
                campaign,
                row["prospect_id"],
                claim,
                row["attempt_number"],
                row["to"],
                row["from_number"],
            )
            for pk, row in zip(rows_insert(CallAttempt, rows), rows, strict=True)
        ]
        ids, ids_param = sql_in(pids)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Prospect._meta.db_table} SET attempt_count = attempt_count + 1"
                f" WHERE id {ids}",
                [ids_param],
            )
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
    campaign: Campaign, prospects: list[_Claimed], claim: str, counts: Counter
) -> dict[int, str]:
    """The number each prospect's attempt dials (by attempt count and the campaign's attempts
    per number); prospects with every number used end exhausted, or failed when the carrier
    refused every one of them."""
    phones: defaultdict[int, list[str]] = defaultdict(list)
    ids, ids_param = sql_in([p.id for p in prospects])
    for pid, e164 in sql_rows(
        f"SELECT prospect_id, e164 FROM {ProspectPhone._meta.db_table}"
        f" WHERE prospect_id {ids} ORDER BY prospect_id, position",
        [ids_param],
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
    tos, tos_param = sql_in(set(numbers.values()))
    suppressed = {
        e164
        for (e164,) in sql_rows(
            f"SELECT e164 FROM {Suppression._meta.db_table}"
            f" WHERE organization_id = %s AND e164 {tos}",
            [org_id, tos_param],
        )
    }
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
    prospects: list[_Claimed],
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
    campaign_auto_pause(campaign=campaign, reason=Campaign.PauseReason.NO_DIDS, now=now)


def _call_request(campaign: Campaign, attempt: Placing) -> CallRequest:
    return call_request(
        to=attempt.to,
        from_=attempt.from_number,
        twiml=campaign.twiml,
        machine_detection=_detection(campaign),
    )


def _detection(campaign: Campaign) -> str:
    """Async AMD; waiting for the end of a greeting when a voicemail drop follows it."""
    return "DetectMessageEnd" if campaign.voicemail_drop else "Enable"


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


def attempts_warm_up() -> None:
    """Load what placing the first calls would: no connection is opened (see config.celery)."""
    import twilio.rest.api.v2010.account.call  # noqa: F401  (the SDK imports it on first use)

    call_request(to="+12125550100", from_="+12125550101")
    windows.check("+12125550100", timezone.now())


def carrier_ask(request: CallRequest) -> CallInfo | ProviderError:
    """The carrier's answer to one call request: the call, or its refusal (never raised)."""
    return carrier_answer(get_provider().originate_call, request)


def attempts_record(
    attempts: list[CallAttempt | Placing], answers: list[CallInfo | ProviderError]
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


def attempt_record(attempt: CallAttempt | Placing, answer: CallInfo | ProviderError) -> str:
    """Store what the carrier answered to one written attempt (see attempts_record)."""
    return next(iter(attempts_record([attempt], [answer])))


def _refused(attempt: CallAttempt | Placing, error: ProviderError) -> str:
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
