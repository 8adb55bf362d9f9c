"""Caller-ID health: events, the score, and what the score does to a caller ID.

Every finished call from a caller ID becomes a `DidHealthEvent` (`health_events_record`,
called when attempts settle). The score reads the caller ID's last DID_HEALTH_WINDOW calls:

    answer rate        30 %  answered / calls
    average duration   25 %  mean seconds per call / 60, capped at 1
    human engagement   20 %  answered by a person / answered (1.0 with nothing answered yet)
    no-answer trend    15 %  1 - no-answer rate
    spam clean         10 %  1 - rate of the carrier's spam signal (SIP 603/607/608)

(weights, window and thresholds are settings). The window's sums live on the caller ID and
move as events arrive (`health_apply`, on the `health` queue): each new event is added and the
one it pushes out of the window subtracted, so no event costs a recount.

A caller ID with a short record is judged as if DID_HEALTH_PRIOR_CALLS clean calls (answered by
a person, a full minute, no spam signal) topped its window up to the window's size: no history
scores 1.0 and one unanswered call cannot condemn a new number. At or above
DID_HEALTH_WARNING all is well; below it a warning (`did.health.warning`); below
DID_HEALTH_COOLDOWN the caller ID leaves rotation for DID_COOLDOWN_SECONDS
(`did.health.cooldown`); below DID_HEALTH_BURN it leaves for good (`did.health.burned`).

The naive design oscillates: back from cooldown on its old history a caller ID looks as good
as before, takes a full share of calls, and cools again. Here its window restarts at the
cooldown (`health_since`): it is judged on its calls since, with no clean calls added, once it
has made DID_HEALTH_PROBATION_CALLS of them; and its share of selections ramps up over its next
DID_RAMP_CALLS calls (dids.selection). A caller ID whose number is spam-labelled thus cools
within a handful of calls, comes back slowly, and burns on its first calls after.
"""

from dataclasses import astuple, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from config.bulk import rows_insert, rows_update
from config.celery import task_signature
from config.events import events_emit
from dids.models import Did, DidHealthEvent

SPAM_SIP_CODES = frozenset({603, 607, 608})
ANSWERED = frozenset({"human_connected", "human_hangup", "voicemail"})
HUMAN = frozenset({"human_connected", "human_hangup"})
NO_ANSWER = frozenset({"no_answer", "timeout"})
COMPONENTS = ("answer_rate", "duration", "engagement", "no_answer_trend", "spam_clean")


@dataclass(frozen=True)
class Window:
    """Sums over a caller ID's calls in its window."""

    calls: int = 0
    answered: int = 0
    humans: int = 0
    seconds: int = 0
    no_answer: int = 0
    spam: int = 0

    def __add__(self, other: "Window") -> "Window":
        return Window(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))

    def __sub__(self, other: "Window") -> "Window":
        return Window(*(a - b for a, b in zip(astuple(self), astuple(other), strict=True)))

    @classmethod
    def of_event(cls, event: DidHealthEvent) -> "Window":
        return cls(
            1,
            int(event.answered),
            int(event.human),
            min(event.duration_seconds, 10 * settings.DID_HEALTH_FULL_DURATION_SECONDS),
            int(event.no_answer),
            int(event.spam),
        )

    @classmethod
    def of_did(cls, did: Did) -> "Window":
        return cls(*(getattr(did, name) for name in DID_SUMS))

    def store(self, did: Did) -> None:
        for name, value in zip(DID_SUMS, astuple(self), strict=True):
            setattr(did, name, value)


# The Did fields holding a Window, in its order.
DID_SUMS = (
    "health_calls",
    "health_answered",
    "health_humans",
    "health_seconds",
    "health_no_answer",
    "health_spam",
)


def components(window: Window, *, prior: int = 0) -> dict[str, float]:
    """The five components (0..1) of a window topped up with `prior` clean calls."""
    full = settings.DID_HEALTH_FULL_DURATION_SECONDS
    calls = window.calls + prior
    if calls == 0:
        return dict.fromkeys(COMPONENTS, 1.0)
    answered = window.answered + prior
    return {
        "answer_rate": answered / calls,
        "duration": min(1.0, (window.seconds + prior * full) / calls / full),
        "engagement": (window.humans + prior) / answered if answered else 1.0,
        "no_answer_trend": 1.0 - window.no_answer / calls,
        "spam_clean": 1.0 - window.spam / calls,
    }


def score_of(parts: dict[str, float]) -> float:
    weights = settings.DID_HEALTH_WEIGHTS
    total = sum(weights.values())
    return round(sum(weights[name] * parts[name] for name in COMPONENTS) / total, 4)


def prior_calls(window: Window, *, on_probation: bool) -> int:
    """Clean calls added to a short record: none on probation (back from a cooldown)."""
    if on_probation:
        return 0
    room = max(0, settings.DID_HEALTH_WINDOW - window.calls)
    return min(settings.DID_HEALTH_PRIOR_CALLS, room)


def did_health(did: Did) -> tuple[float, dict[str, float]]:
    """A caller ID's score and components, from the sums it holds (on probation, before it
    can be judged, the score it came back with)."""
    window = Window.of_did(did)
    parts = components(window, prior=prior_calls(window, on_probation=did.cooldowns > 0))
    return (score_of(parts) if judged(did) else did.health_score), parts


def judged(did: Did) -> bool:
    """Whether the score may act on the caller ID yet: always, except on probation before
    DID_HEALTH_PROBATION_CALLS calls since its cooldown."""
    return did.cooldowns == 0 or did.health_calls >= settings.DID_HEALTH_PROBATION_CALLS


def verdict(score: float) -> str:
    if score < settings.DID_HEALTH_BURN:
        return "burned"
    if score < settings.DID_HEALTH_COOLDOWN:
        return "cooldown"
    if score < settings.DID_HEALTH_WARNING:
        return "warning"
    return "ok"


# --- Writing events ---------------------------------------------------------------------------


def health_event_fields(
    *, outcome: str, answered_by: str, duration: int | None, sip_code: int | None
) -> dict:
    """What a finished call says of its caller ID."""
    return {
        "outcome": outcome,
        "answered_by": answered_by or "",
        "duration_seconds": max(0, duration or 0),
        "sip_response_code": sip_code,
        "answered": outcome in ANSWERED,
        "human": outcome in HUMAN,
        "no_answer": outcome in NO_ANSWER,
        "spam": sip_code in SPAM_SIP_CODES,
    }


def health_events_record(rows: list[dict]) -> None:
    """Write health events (dicts of DidHealthEvent fields, with did_id, organization_id and
    attempt_id; one per attempt, a second for the same attempt is ignored) and have their
    caller IDs' scores moved once the transaction commits."""
    # In caller-ID order: each row's foreign-key check locks its caller ID (FOR KEY SHARE), and
    # a batch choosing caller IDs for its calls (dids.selection) locks them in that order too;
    # crossed orders deadlock.
    rows = sorted((row for row in rows if row.get("did_id")), key=lambda row: row["did_id"])
    if not rows:
        return
    rows_insert(DidHealthEvent, rows, ignore_conflicts=True)
    dids = sorted({row["did_id"] for row in rows})
    transaction.on_commit(lambda: _schedule(dids))


def _schedule(did_ids: list[int]) -> None:
    task_signature("dids.health.apply").apply_async(kwargs={"did_ids": did_ids})


# --- Applying events ---------------------------------------------------------------------------


def health_apply(did_ids: list[int], *, now: datetime | None = None) -> dict[str, int]:
    """Move each caller ID's window by its events not applied yet, rescore it and act on the
    verdict; returns counts of what happened. Safe to run twice or concurrently: each caller
    ID is locked while its events are applied, and an event is applied once."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    for did_id in did_ids:
        with transaction.atomic():
            did = Did.objects.select_for_update(no_key=True).filter(pk=did_id).first()
            if did is None:
                continue
            what = _apply(did, now)
            if what:
                counts[what] = counts.get(what, 0) + 1
    return counts


def _apply(did: Did, now: datetime) -> str:
    new = list(DidHealthEvent.objects.filter(did_id=did.id, seq=None).order_by("id"))
    if not new:
        return ""
    window, top = Window.of_did(did), did.health_seq
    old_low = top - did.health_calls
    for event in new:
        if did.health_since is not None and event.created_at < did.health_since:
            event.seq = 0  # a call from before the cooldown: the new window starts after it
            continue
        top += 1
        event.seq = top
        window = window + Window.of_event(event)
    rows_update(DidHealthEvent, ["seq"], [(event.pk, event.seq) for event in new])
    low = max(did.health_floor, top - settings.DID_HEALTH_WINDOW)
    if low > old_low:  # the oldest calls leave the window
        for event in DidHealthEvent.objects.filter(did_id=did.id, seq__gt=old_low, seq__lte=low):
            window = window - Window.of_event(event)
    window.store(did)
    did.health_seq = top
    if not judged(did):
        did.save()  # on probation, too few calls yet: its score stays as it came back
        return "on_probation"
    score, _ = did_health(did)
    did.health_score = score
    action = _act(did, score, now) if did.state == Did.State.ACTIVE else ""
    did.save()
    return action or "scored"


def _act(did: Did, score: float, now: datetime) -> str:
    found = verdict(score)
    event = None
    if found == "burned":
        did.state, did.burned_at, did.health_warning = Did.State.BURNED, now, False
        event = "did.health.burned"
    elif found == "cooldown":
        did.state = Did.State.COOLING
        did.cooldown_until = now + timedelta(seconds=settings.DID_COOLDOWN_SECONDS)
        did.cooldowns += 1
        did.health_warning = False
        event = "did.health.cooldown"
    elif found == "warning" and not did.health_warning:
        did.health_warning = True
        event = "did.health.warning"
    elif found == "ok":
        did.health_warning = False
    if event:
        data = {"did": did.id, "e164": did.e164, "score": score}
        if did.cooldown_until and found == "cooldown":
            data["until"] = did.cooldown_until.isoformat()
        events_emit([(event, did.organization_id, None, data)])
        return found
    return ""


# --- Lifecycle --------------------------------------------------------------------------------


def dids_lifecycle(*, now: datetime | None = None) -> dict[str, int]:
    """cooling -> active when the cooldown is over, warming -> active when warming is; both
    come back on a ramp, a cooled one judged afresh on its calls from now on."""
    now = now or timezone.now()
    returned = cooldowns_end(Did.objects.filter(cooldown_until__lte=now), now=now)
    warmed = Did.objects.filter(state=Did.State.WARMING, warming_until__lte=now).update(
        state=Did.State.ACTIVE, ramp_calls=0, ramp_credit=0.0, updated_at=now
    )
    return {"returned": returned, "warmed": warmed}


def cooldowns_end(dids: QuerySet[Did], *, now: datetime | None = None) -> int:
    """Those of `dids` that are cooling come back now: a new window from now, and a ramp back
    in (one statement); returns how many."""
    now = now or timezone.now()
    return dids.filter(state=Did.State.COOLING).update(
        state=Did.State.ACTIVE,
        cooldown_until=None,
        health_since=now,
        health_floor=F("health_seq"),
        health_score=1.0,
        health_warning=False,
        **dict.fromkeys(DID_SUMS, 0),
        ramp_calls=0,
        ramp_credit=0.0,
        updated_at=now,
    )

