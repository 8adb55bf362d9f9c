"""Late AMD verdicts: an attempt settled as a person is corrected when a machine's verdict
comes after all.

With async AMD the verdict and the call's `completed` callback race, and callbacks can be
reordered. Settling waits DIALER_AMD_GRACE_SECONDS after an answered call's completion for
its verdict (campaigns.voice.outcomes), then classifies the call by its duration; a machine verdict
that comes later finds the attempt `human_connected` or `human_hangup` with no verdict.
`attempts_correct_late_verdicts` makes those `voicemail` (a campaign's drop could not have
played: it is `failed`) and moves the prospect as that voicemail would have, but only a
prospect that still holds what the attempt gave it: the same status and last outcome and no
newer attempt. A prospect that has moved on (claimed again, cancelled, suppressed) is left
alone. Like settling it is driven by the database, so running it twice or from two workers
corrects each attempt once; a verdict more than LATE_VERDICT_WINDOW after the call's end is
not looked for.
"""

from collections import defaultdict
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q, Subquery
from django.utils import timezone

from campaigns.models import CallAttempt
from campaigns.voice.outcomes import (
    FINAL_STATUS,
    SETTLE_BATCH,
    call_event,
    one_off_event,
    phone_counts,
    prospect_next_state,
)
from campaigns.voice.voicemail import drops_missed
from config.events import events_emit
from messaging.models import CarrierCall
from prospects.models import Prospect

Outcome = CallAttempt.Outcome
HUMAN = (Outcome.HUMAN_CONNECTED, Outcome.HUMAN_HANGUP)
LATE_VERDICT_WINDOW = timedelta(hours=1)


def attempts_correct_late_verdicts(*, now: datetime | None = None) -> int:
    """Correct attempts settled as a person whose call has a machine verdict now; returns how
    many were corrected."""
    now = now or timezone.now()
    machine = CarrierCall.objects.filter(sid=OuterRef("sid")).filter(
        Q(answered_by__startswith="machine") | Q(answered_by="fax")
    )
    corrected = 0
    while True:
        with transaction.atomic():
            attempts = list(
                CallAttempt.objects.filter(
                    status=CallAttempt.Status.FINISHED,
                    outcome__in=HUMAN,
                    answered_by="",
                    ended_at__gte=now - LATE_VERDICT_WINDOW,
                )
                .exclude(machine_detection="")
                .filter(Exists(machine))
                .select_related("campaign")
                .select_for_update(skip_locked=True, no_key=True, of=("self",))
                .order_by("id")[:SETTLE_BATCH]
            )
            if not attempts:
                return corrected
            verdicts = dict(
                CarrierCall.objects.filter(sid__in=[a.sid for a in attempts]).values_list(
                    "sid", "answered_by"
                )
            )
            previous = {a.pk: a.outcome for a in attempts}
            for attempt in attempts:
                attempt.outcome, attempt.answered_by = Outcome.VOICEMAIL, verdicts[attempt.sid]
            CallAttempt.objects.filter(pk__in=previous).update(
                outcome=Outcome.VOICEMAIL,
                answered_by=Subquery(
                    CarrierCall.objects.filter(sid=OuterRef("sid")).values("answered_by")[:1]
                ),
            )
            drops_missed(attempts, verdicts)
            _prospects_follow(attempts, previous, now)
            corrected += len(attempts)


def _prospects_follow(attempts: list[CallAttempt], previous: dict[int, str], now: datetime):
    """Each corrected attempt's prospect, if it still holds that attempt's state, takes the
    voicemail's (one UPDATE per resulting state, on rows locked while deciding); one
    `campaign.call.voicemail` (a one-off call's `call.voicemail`) per attempt, marked
    corrected."""
    latest_attempt = {a.prospect_id: a for a in attempts if a.prospect_id and a.campaign}
    newest = dict(
        CallAttempt.objects.filter(prospect_id__in=latest_attempt)
        .values_list("prospect_id")
        .annotate(last=Max("id"))
        .order_by()
    )
    candidates = [pid for pid, a in latest_attempt.items() if newest.get(pid) == a.pk]
    rows = (
        Prospect.objects.filter(pk__in=candidates)
        .select_for_update(no_key=True)
        .order_by("id")
        .values_list("id", "status", "last_outcome", "attempt_count")
    )
    numbers = phone_counts(candidates)
    groups: defaultdict[tuple, list[int]] = defaultdict(list)
    followed: dict[int, datetime | None] = {}  # attempt id -> when the prospect comes back
    for pid, status, last_outcome, attempt_count in rows:
        attempt = latest_attempt[pid]
        before = previous[attempt.pk]
        gave = (FINAL_STATUS[before], Prospect.Status.QUEUED, Prospect.Status.EXHAUSTED)
        if last_outcome != before or status not in gave:
            continue  # moved on since
        new_status, next_at = prospect_next_state(attempt, attempt_count, numbers.get(pid, 0), now)
        groups[(new_status, next_at)].append(pid)
        followed[attempt.pk] = next_at
    for (status, next_at), ids in groups.items():
        fields = {"status": status, "last_outcome": Outcome.VOICEMAIL, "updated_at": now}
        if next_at is not None:
            fields["next_attempt_at"] = next_at
        Prospect.objects.filter(pk__in=ids).update(**fields)
    events = []
    for attempt in attempts:
        correction = {"corrected": True, "previous_outcome": previous[attempt.pk]}
        if attempt.campaign_id is None:  # a one-off call
            events.append(one_off_event(attempt, **correction))
            continue
        comes_back = followed.get(attempt.pk) is not None
        prospect_followed = attempt.pk in followed
        events.append(
            call_event(attempt, retry=comes_back, prospect_followed=prospect_followed, **correction)
        )
    events_emit(events)
