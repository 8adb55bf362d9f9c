"""Voicemail drops: the campaign's message left on an answering machine after the beep.

A campaign with a drop places its calls with AMD `DetectMessageEnd`, whose machine verdict
(`machine_end_beep|silence|other`) arrives when the greeting has ended, while the call is still
live. `voicemail_drops` is driven by the database, like settling: it finds in-flight attempts
whose call has such a verdict and whose drop was not asked for yet, claims them (`drop_status`
'' → requested, committed before the carrier is called, so two workers never send one drop),
gives each live call the TwiML that plays the message (messaging.twiml), and records `played`
or `failed` (`error_code` says why).

Settling (campaigns.voice.outcomes) waits for a requested drop's answer, marks `failed` the drop of
a call that ended before it was asked for, and makes voicemail final only when the drop was
played. A drop whose answer never came back (lost on the way, or its worker died) stays
`requested` and counts as played: the prospect is not called again on the chance that the
message was left.
"""

import logging
from collections import Counter, defaultdict
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from campaigns.models import CallAttempt
from messaging.models import TERMINAL_RANK, CarrierCall
from messaging.providers import CallInfo, ProviderError, carrier_each, get_provider
from messaging.twiml import message_twiml

log = logging.getLogger(__name__)
MACHINE_END_VERDICTS = ("machine_end_beep", "machine_end_silence", "machine_end_other")
DROP_BATCH = 200
MAX_PARALLEL_DROPS = 16
Drop = CallAttempt.Drop


def drop_due(attempt: CallAttempt, answered_by: str) -> bool:
    """Whether this attempt's call should get (or should have got) the campaign's drop."""
    campaign = attempt.campaign
    return bool(
        campaign is not None
        and campaign.voicemail_drop
        and answered_by in MACHINE_END_VERDICTS
        and attempt.drop_status == Drop.NONE
    )


def drops_missed(attempts: list[CallAttempt], verdicts: dict[str, str]) -> None:
    """Attempts whose call ended before their drop was asked for (`verdicts`: answered_by by
    sid): the drop is `failed`, on the objects and in the rows."""
    missed = []
    for attempt in attempts:
        if drop_due(attempt, verdicts.get(attempt.sid, "")):
            attempt.drop_status = Drop.FAILED
            missed.append(attempt.pk)
    if missed:
        CallAttempt.objects.filter(pk__in=missed, drop_status=Drop.NONE).update(
            drop_status=Drop.FAILED
        )


def voicemail_drops(*, now: datetime | None = None) -> dict[str, int]:
    """Play the drop on every live call whose greeting just ended; returns counts by result."""
    now = now or timezone.now()
    counts: Counter[str] = Counter()
    while attempts := _claim(now):
        answers = carrier_each(
            lambda a: get_provider().update_call_twiml(
                a.sid, message_twiml(a.campaign.voicemail_drop)
            ),
            attempts,
            parallel=MAX_PARALLEL_DROPS,
        )
        counts.update(_record(attempts, answers))
    return dict(counts)


def _claim(now: datetime) -> list[CallAttempt]:
    """Mark up to DROP_BATCH due drops `requested` and return their attempts (with campaign)."""
    live_machine = CarrierCall.objects.filter(
        sid=OuterRef("sid"),
        answered_by__in=MACHINE_END_VERDICTS,
        status_rank__lt=TERMINAL_RANK,
    )
    with transaction.atomic():
        attempts = list(
            CallAttempt.objects.filter(
                status=CallAttempt.Status.IN_FLIGHT,
                drop_status=Drop.NONE,
                campaign__voicemail_drop__gt="",
            )
            .filter(Exists(live_machine))
            .select_related("campaign")
            .select_for_update(skip_locked=True, no_key=True, of=("self",))
            .order_by("id")[:DROP_BATCH]
        )
        CallAttempt.objects.filter(pk__in=[a.pk for a in attempts]).update(
            drop_status=Drop.REQUESTED, drop_requested_at=now
        )
    return attempts


def _record(attempts: list[CallAttempt], answers: list[CallInfo | ProviderError]) -> Counter:
    """The carrier's answers: one UPDATE for the played drops, one per refusal code. A
    request whose answer was lost may have been carried out: it stays `requested`."""
    played: list[int] = []
    failed: defaultdict[int | None, list[int]] = defaultdict(list)
    unknown = 0
    for attempt, answer in zip(attempts, answers, strict=True):
        if not isinstance(answer, ProviderError):
            played.append(attempt.pk)
        elif answer.maybe_done:
            unknown += 1
            log.warning("voicemail drop on %s: the answer was lost: %r", attempt.sid, answer)
        else:
            failed[answer.code].append(attempt.pk)
            log.info("voicemail drop on %s not played: %r", attempt.sid, answer)
    requested = CallAttempt.objects.filter(drop_status=Drop.REQUESTED)
    requested.filter(pk__in=played).update(drop_status=Drop.PLAYED)
    for code, ids in failed.items():
        requested.filter(pk__in=ids).update(drop_status=Drop.FAILED, error_code=code)
    failures = sum(len(ids) for ids in failed.values())
    return +Counter({"played": len(played), "failed": failures, "unknown": unknown})
