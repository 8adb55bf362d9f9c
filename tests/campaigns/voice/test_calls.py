"""One-off calls and the engine: the tick counts them, waits for one being placed, and settles
and times them out like a campaign's; the guardrails at a fixed instant."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from campaigns.models import Campaign
from campaigns.voice.attempts import attempt_record
from campaigns.voice.calls import CallRefused, call_place
from campaigns.voice.dispatch import dispatch_tick, slots_lock
from campaigns.voice.outcomes import attempts_time_out
from config.events import events_read, org_stream
from config.redis import get_redis
from messaging.providers import ProviderError
from prospects.models import Prospect, Suppression
from tests.campaigns.conftest import import_rows
from tests.factories import CampaignFactory, DidFactory, OneOffCallFactory
from tests.waiting import eventually, in_thread, waiting_on_a_lock

# A Wednesday: 10:00 in Los Angeles, 13:00 in New York.
NOON = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)
TWIML = "<Response><Say>Hello</Say></Response>"


@pytest.fixture
def dialing(org):
    """A dialing campaign of `org` with five prospects due and pace to claim them all."""
    campaign = CampaignFactory(
        organization=org, status="dialing", calls_per_second=5, pacing_tokens=5, pacing_at=NOON
    )
    import_rows(campaign, *[f"41555501{i:02d},," for i in range(5)])
    Prospect.objects.filter(campaign=campaign).update(next_attempt_at=NOON - timedelta(hours=1))
    return campaign


def test_the_tick_counts_one_off_calls_toward_the_org_and_global_limits(
    dialing, org, other_org, settings
):
    org.concurrency_limit = 3
    org.save()
    OneOffCallFactory(organization=org)
    OneOffCallFactory(organization=org, status="finished", outcome="busy")  # over
    assert dispatch_tick(now=NOON)["claimed"] == 2

    Prospect.objects.filter(status="dialing").update(status="queued")
    Campaign.objects.filter(pk=dialing.pk).update(pacing_tokens=5, pacing_at=NOON)
    org.concurrency_limit = 10
    org.save()
    settings.DIALER_GLOBAL_CONCURRENCY = 4
    OneOffCallFactory(organization=other_org)
    assert dispatch_tick(now=NOON)["claimed"] == 2  # 4 lines, 2 taken by one-off calls


@pytest.mark.django_db(transaction=True)
def test_the_tick_waits_for_a_call_being_placed_then_counts_it(dialing, org):
    org.concurrency_limit = 3
    org.save()
    holding, release = threading.Event(), threading.Event()
    outcome: dict = {}

    def place():
        with transaction.atomic():
            slots_lock()
            OneOffCallFactory(organization=org)
            holding.set()
            release.wait(10)

    placing = in_thread(place, outcome, "placed")
    ticking = None
    try:
        assert holding.wait(10)
        ticking = in_thread(lambda: dispatch_tick(now=NOON), outcome, "tick")
        eventually(
            lambda: waiting_on_a_lock(wait_event="advisory"),
            what="the tick waiting for the slot lock",
        )
    finally:
        release.set()
        placing.join(20)
        if ticking is not None:
            ticking.join(20)

    assert outcome["tick"]["claimed"] == 2, outcome


def test_the_caller_id_is_chosen_in_the_campaign_order(org, carrier):
    DidFactory(organization=org, e164="+14156660001", area_code="415", health_score=1.0)
    DidFactory(organization=org, e164="+12126660001", area_code="212", health_score=0.8)

    call, created = call_place(org=org, to="+12125550101", twiml=TWIML, now=NOON)

    assert created and call.from_number == "+12126660001"  # the callee's area code first
    assert call.status == "in_flight" and call.sid.startswith("CA")


def test_the_window_is_the_numbers_own_zones_and_the_policy(org, carrier):
    DidFactory(organization=org)
    dawn = NOON - timedelta(hours=5)  # 05:00 in Los Angeles, 08:00 in New York
    with pytest.raises(CallRefused) as refused:
        call_place(org=org, to="+14155550101", twiml=TWIML, now=dawn)
    assert refused.value.code == "outside_calling_window"
    assert refused.value.extra["next_allowed_at"] == datetime(2026, 11, 18, 16, 0, tzinfo=UTC)

    # A zone given for a geographic number adds to its zones; it never replaces them.
    with pytest.raises(CallRefused):
        call_place(
            org=org,
            to="+14155550101",
            twiml=TWIML,
            recipient_timezone="America/New_York",
            now=dawn,
        )
    assert call_place(org=org, to="+12125550101", twiml=TWIML, now=dawn)[1]
    assert carrier.stats()["calls"]["by_to"] == {"+12125550101": 1}


def test_an_opt_out_refusal_suppresses_the_number_like_a_campaign_call(org, other_org):
    attempt = OneOffCallFactory(organization=org, to="+14155550101", status="originating", sid=None)
    refusal = ProviderError(
        "Attempt to send to unsubscribed recipient", code=21610, http_status=400
    )

    assert attempt_record(attempt, refusal) == "opted_out"

    attempt.refresh_from_db()
    assert (attempt.status, attempt.outcome, attempt.error_code) == ("finished", "rejected", 21610)
    entry = Suppression.objects.get(e164="+14155550101")
    assert (entry.organization, entry.reason, entry.source) == (org, "stop", "carrier:21610")


def test_a_one_off_call_that_never_finishes_times_out(org, django_capture_on_commit_callbacks):
    get_redis().delete(org_stream(org.id))
    call = OneOffCallFactory(organization=org, created_at=NOON)
    with django_capture_on_commit_callbacks(execute=True):
        assert attempts_time_out(now=NOON + timedelta(minutes=31)) == 1
    call.refresh_from_db()
    assert (call.status, call.outcome) == ("finished", "timeout")
    assert [e["type"] for e in events_read(org_stream(org.id))] == ["call.timeout"]
    get_redis().delete(org_stream(org.id))
