"""Caller-ID health: the score's components, the thresholds, the window, the lifecycle."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import TestCase

from config.events import events_read, org_stream
from config.redis import get_redis
from dids.health import (
    Window,
    components,
    did_health,
    dids_lifecycle,
    health_apply,
    health_event_fields,
    score_of,
)
from dids.models import Did, DidHealthEvent
from dids.services import did_cooldown_end
from tests.factories import DidFactory

NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)

# Calls as (outcome, seconds, SIP code) and what each says of its caller ID.
HUMAN = ("human_connected", 90, None)
SHORT = ("human_hangup", 6, None)
MACHINE = ("voicemail", 30, None)
NO_ANSWER = ("no_answer", 0, 487)
BUSY = ("busy", 0, 486)
SPAM = ("failed", 0, 608)


@pytest.fixture(autouse=True)
def _fresh_streams():
    get_redis().flushdb()


def add(did, *calls, at=NOW):
    for outcome, seconds, sip in calls:
        DidHealthEvent.objects.create(
            did=did,
            organization_id=did.organization_id,
            created_at=at,
            **health_event_fields(outcome=outcome, answered_by="", duration=seconds, sip_code=sip),
        )


def apply(did, now=NOW):
    with TestCase.captureOnCommitCallbacks(execute=True):  # the events go out on commit
        health_apply([did.id], now=now)
    did.refresh_from_db()
    return did


def window_of(*calls) -> Window:
    total = Window()
    for outcome, seconds, sip in calls:
        fields = health_event_fields(
            outcome=outcome, answered_by="", duration=seconds, sip_code=sip
        )
        total = total + Window.of_event(DidHealthEvent(**fields))
    return total


# --- The components, against tables computed by hand --------------------------------------


@pytest.mark.parametrize(
    "calls, expected",
    [
        # answer rate, duration (mean s / 60, capped), engagement, no-answer trend, spam clean
        ([], (1.0, 1.0, 1.0, 1.0, 1.0)),
        ([HUMAN], (1.0, 1.0, 1.0, 1.0, 1.0)),
        ([HUMAN, NO_ANSWER], (0.5, 0.75, 1.0, 0.5, 1.0)),  # (90 + 0) / 2 = 45 s
        ([HUMAN, MACHINE, BUSY, NO_ANSWER], (0.5, 0.5, 0.5, 0.75, 1.0)),  # 120 s / 4 = 30 s
        ([SHORT, MACHINE, SPAM, SPAM], (0.5, 0.15, 0.5, 1.0, 0.5)),  # 36 s / 4 = 9 s
        ([NO_ANSWER] * 3 + [BUSY], (0.0, 0.0, 1.0, 0.25, 1.0)),  # nothing answered yet
        ([SPAM] * 5, (0.0, 0.0, 1.0, 1.0, 0.0)),
    ],
)
def test_each_component_of_a_window(calls, expected):
    parts = components(window_of(*calls))
    assert tuple(round(parts[k], 4) for k in parts) == expected


def test_the_score_weighs_the_components():
    # 0.3 * 0.5 + 0.25 * 0.5 + 0.2 * 0.5 + 0.15 * 0.75 + 0.1 * 1.0 = 0.5875
    assert score_of(components(window_of(HUMAN, MACHINE, BUSY, NO_ANSWER))) == 0.5875
    assert score_of(components(Window())) == 1.0  # no history


def test_a_short_record_is_topped_up_with_clean_calls():
    # One unanswered call among ten clean ones: answer 10/11, duration 600/11/60, engagement
    # 10/10, no-answer 1 - 1/11, spam clean 1.
    parts = components(window_of(NO_ANSWER), prior=10)
    assert round(parts["answer_rate"], 4) == round(10 / 11, 4)
    assert round(parts["duration"], 4) == round(10 / 11, 4)
    assert parts["engagement"] == 1.0
    assert round(parts["no_answer_trend"], 4) == round(10 / 11, 4)


# --- The window moves by sums, and says what a recount would ---------------------------------


def test_the_window_holds_the_last_50_calls_as_a_recount_would(org):
    did = DidFactory(organization=org)
    pattern = [HUMAN, NO_ANSWER, MACHINE, BUSY, SHORT, SPAM, HUMAN]
    calls = [pattern[i % len(pattern)] for i in range(130)]
    for start in range(0, 130, 13):  # arriving in bursts, applied after each
        add(did, *calls[start : start + 13])
        apply(did)
    assert did.health_calls == 50
    assert Window.of_did(did) == window_of(*calls[-50:])
    assert did.health_score == score_of(components(window_of(*calls[-50:])))


def test_an_event_committed_late_is_still_counted(org):
    did = DidFactory(organization=org)
    add(did, HUMAN)
    late = DidHealthEvent.objects.get()
    DidHealthEvent.objects.filter(pk=late.pk).update(seq=None)
    add(did, NO_ANSWER)
    apply(did)
    assert did.health_calls == 2  # both, whatever order their ids say
    add(did, BUSY)
    apply(did)
    assert did.health_calls == 3


def test_applying_twice_counts_each_event_once(org):
    did = DidFactory(organization=org)
    add(did, HUMAN, NO_ANSWER)
    apply(did)
    apply(did)
    assert did.health_calls == 2


# --- Thresholds ---------------------------------------------------------------------------


def kinds(org) -> list[str]:
    return [e["type"] for e in events_read(org_stream(org.id))]


def test_a_good_caller_id_stays_active_without_events(org):
    did = DidFactory(organization=org)
    add(did, *[HUMAN, HUMAN, HUMAN, MACHINE, NO_ANSWER] * 12)
    did = apply(did)
    assert did.health_score >= 0.8
    assert (did.state, did.health_warning) == ("active", False)
    assert kinds(org) == []


def test_below_the_warning_line_one_warning_event(org):
    did = DidFactory(organization=org)
    # Full window, answer 0.7, 51 s average, engagement 5/7, no-answer 0.8: 0.2 + ... = 0.78
    add(did, *[HUMAN, HUMAN, HUMAN, HUMAN, HUMAN, MACHINE, MACHINE, NO_ANSWER, NO_ANSWER, BUSY] * 5)
    did = apply(did)
    assert 0.7 <= did.health_score < 0.8
    assert (did.state, did.health_warning) == ("active", True)
    add(did, BUSY)
    apply(did)
    assert kinds(org) == ["did.health.warning"]  # once, not per call


def test_below_the_cooldown_line_out_of_rotation_for_two_hours(org):
    did = DidFactory(organization=org)
    add(did, *[HUMAN, MACHINE, NO_ANSWER, NO_ANSWER, BUSY] * 10)
    did = apply(did)
    assert 0.5 <= did.health_score < 0.7
    assert did.state == "cooling"
    assert did.cooldown_until == NOW + timedelta(hours=2)
    assert kinds(org) == ["did.health.cooldown"]
    event = events_read(org_stream(org.id))[0]["data"]
    assert event["e164"] == did.e164 and event["score"] == did.health_score


def test_below_the_burn_line_out_for_good(org):
    did = DidFactory(organization=org)
    add(did, *[SPAM, SPAM, NO_ANSWER, BUSY, MACHINE] * 10)
    did = apply(did)
    assert did.health_score < 0.5
    assert (did.state, did.burned_at) == ("burned", NOW)
    assert kinds(org) == ["did.health.burned"]
    dids_lifecycle(now=NOW + timedelta(days=30))
    did.refresh_from_db()
    assert did.state == "burned"


def test_a_spam_labelled_number_cools_within_a_handful_of_calls(org):
    did = DidFactory(organization=org)
    n = 0
    while did.state == "active":
        add(did, SPAM)
        did = apply(did)
        n += 1
    assert did.state == "cooling"
    assert 5 <= n <= 12  # the clean calls of a short record soften the first few


# --- Lifecycle, with time travel -------------------------------------------------------------


def cooled(org, **fields) -> Did:
    did = DidFactory(organization=org)
    add(did, *[SPAM] * 12)
    did = apply(did)
    assert did.state == "cooling"
    return did


def test_cooling_comes_back_when_the_cooldown_is_over_on_a_fresh_window(org):
    did = cooled(org)
    assert dids_lifecycle(now=NOW + timedelta(minutes=119)) == {"returned": 0, "warmed": 0}
    assert dids_lifecycle(now=NOW + timedelta(hours=2)) == {"returned": 1, "warmed": 0}
    did.refresh_from_db()
    assert did.state == "active" and did.cooldown_until is None
    assert (did.health_calls, did.health_score, did.ramp_calls) == (0, 1.0, 0)
    assert did_health(did)[0] == 1.0


def test_warming_comes_back_when_warming_is_over(org):
    did = DidFactory(organization=org, state="warming", warming_until=NOW + timedelta(days=1))
    assert dids_lifecycle(now=NOW)["warmed"] == 0
    assert dids_lifecycle(now=NOW + timedelta(days=1))["warmed"] == 1
    did.refresh_from_db()
    assert (did.state, did.ramp_calls) == ("active", 0)


def test_back_from_cooldown_it_is_judged_on_its_calls_since_and_burns_if_still_bad(org):
    did = cooled(org)
    back = NOW + timedelta(hours=2)
    dids_lifecycle(now=back)
    add(did, SPAM, at=NOW + timedelta(minutes=5))  # settled late, made before the cooldown
    add(did, *[SPAM] * 9, at=back + timedelta(minutes=1))
    did = apply(did, now=back + timedelta(minutes=2))
    assert did.health_calls == 9  # the old call is in no window
    assert did.state == "active"  # on probation: not judged before ten calls
    add(did, SPAM, at=back + timedelta(minutes=3))
    did = apply(did, now=back + timedelta(minutes=3))
    assert did.state == "burned"
    assert kinds(org) == ["did.health.cooldown", "did.health.burned"]


def test_back_from_cooldown_a_good_record_keeps_it_in_rotation(org):
    did = cooled(org)
    back = NOW + timedelta(hours=2)
    dids_lifecycle(now=back)
    add(did, *[HUMAN, HUMAN, MACHINE, HUMAN, NO_ANSWER] * 4, at=back)
    did = apply(did, now=back)
    assert did.state == "active" and did.health_score >= 0.8


def test_an_operator_ends_a_cooldown(org):
    did = cooled(org)
    did = did_cooldown_end(did=did, now=NOW + timedelta(minutes=10))
    assert did.state == "active" and did.ramp_calls == 0 and did.health_calls == 0
