"""The campaign state machine: start, pause, resume and cancel (campaigns.services)."""

import threading
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.services import (
    InvalidTransition,
    campaign_cancel,
    campaign_pause,
    campaign_resume,
    campaign_start,
)
from config.events import campaign_stream, events_read, org_stream
from prospects.models import Prospect
from tests.campaigns.conftest import VALID_TRANSITIONS, put_in
from tests.factories import make_prospect
from tests.waiting import eventually, in_thread, waiting_on_a_lock

S = Campaign.Status
pytestmark = pytest.mark.usefixtures("empty_streams")
SERVICES = {
    "start": campaign_start,
    "pause": campaign_pause,
    "resume": campaign_resume,
    "cancel": campaign_cancel,
}
VALID = VALID_TRANSITIONS
INVALID = [(a, s) for a in SERVICES for s in S.values if (a, s) not in VALID]


def stream_events(campaign_id: int) -> list[tuple[str, dict]]:
    return [(e["type"], e["data"]) for e in events_read(campaign_stream(campaign_id))]


# --- Valid transitions ---------------------------------------------------------------------


@pytest.mark.parametrize(("action", "from_", "to"), [(a, f, t) for (a, f), t in VALID.items()])
def test_every_valid_transition(campaign, other_campaign, action, from_, to):
    put_in(campaign, from_)
    put_in(other_campaign, from_)

    returned = SERVICES[action](campaign=campaign)

    assert returned.pk == campaign.pk and returned.status == to
    assert Campaign.objects.get(pk=campaign.pk).status == to
    assert Campaign.objects.get(pk=other_campaign.pk).status == from_


def test_start_sets_started_at_and_an_empty_pacing_bucket(campaign):
    Campaign.objects.filter(pk=campaign.pk).update(pacing_tokens=7.5)
    before = timezone.now()

    campaign = campaign_start(campaign=campaign)

    assert campaign.status == S.DIALING
    assert before <= campaign.started_at <= timezone.now()
    assert campaign.pacing_tokens == 0 and campaign.pacing_at == campaign.started_at
    assert campaign.finished_at is None and campaign.pause_reason == ""
    assert campaign.updated_at >= before


def test_pause_defaults_to_manual(campaign):
    put_in(campaign, S.DIALING)
    assert campaign_pause(campaign=campaign).pause_reason == "manual"


@pytest.mark.parametrize("reason", ["manual", "no_dids", "error_rate", "billing"])
def test_pause_stores_its_reason_and_resume_clears_it(campaign, reason):
    put_in(campaign, S.DIALING)

    paused = campaign_pause(campaign=campaign, reason=reason)
    assert (paused.status, paused.pause_reason) == ("paused", reason)

    resumed = campaign_resume(campaign=campaign)
    assert (resumed.status, resumed.pause_reason) == ("dialing", "")


@pytest.mark.parametrize("reason", ["", "holiday"])
def test_pause_refuses_an_unknown_reason(campaign, reason):
    put_in(campaign, S.DIALING)
    with pytest.raises(ValueError, match="pause reason"):
        campaign_pause(campaign=campaign, reason=reason)
    assert Campaign.objects.get(pk=campaign.pk).status == S.DIALING


def test_resume_never_bursts_the_calls_saved_up_while_paused(campaign):
    long_ago = timezone.now() - timedelta(hours=3)
    Campaign.objects.filter(pk=campaign.pk).update(
        status=S.PAUSED, pause_reason="billing", pacing_tokens=40.0, pacing_at=long_ago
    )
    before = timezone.now()

    campaign = campaign_resume(campaign=campaign)

    assert campaign.pacing_tokens == 0
    assert before <= campaign.pacing_at <= timezone.now()
    assert campaign.started_at is None  # resuming is not starting


@pytest.mark.parametrize("from_", [S.CREATED, S.DIALING, S.PAUSED])
def test_cancel_sets_finished_at_and_clears_a_pause_reason(campaign, from_):
    put_in(campaign, from_, reason="no_dids" if from_ == S.PAUSED else "")
    before = timezone.now()

    campaign = campaign_cancel(campaign=campaign)

    assert (campaign.status, campaign.pause_reason) == ("cancelled", "")
    assert before <= campaign.finished_at <= timezone.now()


# --- Invalid transitions -------------------------------------------------------------------


@pytest.mark.parametrize(("action", "from_"), INVALID)
def test_every_invalid_transition_raises_with_the_current_status(campaign, action, from_):
    put_in(campaign, from_)
    before = Campaign.objects.filter(pk=campaign.pk).values().get()

    with pytest.raises(InvalidTransition) as caught:
        SERVICES[action](campaign=campaign)

    assert caught.value.status == from_
    assert str(caught.value) == f"Cannot {action} a campaign that is {from_}."
    assert Campaign.objects.filter(pk=campaign.pk).values().get() == before


def test_the_current_status_is_read_from_the_database_not_the_stale_instance(campaign):
    stale = Campaign.objects.get(pk=campaign.pk)  # still says "created"
    campaign_start(campaign=campaign)

    with pytest.raises(InvalidTransition) as caught:
        campaign_start(campaign=stale)

    assert caught.value.status == "dialing"


def test_a_deleted_campaign_is_not_found(campaign):
    Campaign.objects.filter(pk=campaign.pk).delete()
    with pytest.raises(Campaign.DoesNotExist):
        campaign_start(campaign=campaign)


# --- Cancel and prospects ------------------------------------------------------------------


def test_cancel_cancels_queued_prospects_only_and_only_of_its_campaign(campaign, other_campaign):
    put_in(campaign, S.DIALING)
    put_in(other_campaign, S.DIALING)
    queued = [make_prospect(campaign, f"+1415555010{i}") for i in range(3)]
    in_flight = make_prospect(
        campaign,
        "+14155550109",
        status=Prospect.Status.DIALING,
        locked_by="claim-1",
        locked_at=timezone.now(),
    )
    reached = make_prospect(
        campaign, "+14155550110", status=Prospect.Status.VOICEMAIL, last_outcome="voicemail"
    )
    elsewhere = make_prospect(other_campaign, "+14155550101")

    campaign_cancel(campaign=campaign)

    for prospect in queued:
        prospect.refresh_from_db()
        assert (prospect.status, prospect.last_outcome) == ("cancelled", "campaign_cancelled")
    in_flight.refresh_from_db()
    assert (in_flight.status, in_flight.locked_by) == ("dialing", "claim-1")
    reached.refresh_from_db()
    assert (reached.status, reached.last_outcome) == ("voicemail", "voicemail")
    elsewhere.refresh_from_db()
    assert (elsewhere.status, elsewhere.last_outcome) == ("queued", "")


def test_a_refused_cancel_leaves_the_prospects_queued(campaign):
    put_in(campaign, S.COMPLETED)
    prospect = make_prospect(campaign, "+14155550101")

    with pytest.raises(InvalidTransition):
        campaign_cancel(campaign=campaign)

    prospect.refresh_from_db()
    assert prospect.status == "queued"


# --- Events --------------------------------------------------------------------------------


def test_each_transition_appends_its_event_once_committed(
    campaign, other_campaign, django_capture_on_commit_callbacks
):
    make_prospect(campaign, "+14155550101")
    make_prospect(campaign, "+14155550102")
    make_prospect(other_campaign, "+14155550101")

    with django_capture_on_commit_callbacks(execute=True):
        campaign_start(campaign=campaign)
        assert stream_events(campaign.pk) == []  # nothing before the commit
    with django_capture_on_commit_callbacks(execute=True):
        campaign_pause(campaign=campaign, reason="error_rate")
    with django_capture_on_commit_callbacks(execute=True):
        campaign_resume(campaign=campaign)
    with django_capture_on_commit_callbacks(execute=True):
        campaign_cancel(campaign=campaign)

    assert stream_events(campaign.pk) == [
        ("campaign.started", {}),
        ("campaign.paused", {"reason": "error_rate"}),
        ("campaign.resumed", {}),
        ("campaign.cancelled", {"prospects_cancelled": 2}),
    ]
    org_feed = events_read(org_stream(campaign.organization_id))
    assert [e["type"] for e in org_feed] == [
        "campaign.started",
        "campaign.paused",
        "campaign.resumed",
        "campaign.cancelled",
    ]
    assert {e["campaign"] for e in org_feed} == {str(campaign.pk)}
    assert stream_events(other_campaign.pk) == []
    assert events_read(org_stream(other_campaign.organization_id)) == []


def test_a_refused_transition_appends_nothing(campaign, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(InvalidTransition):
            campaign_resume(campaign=campaign)
    assert callbacks == []
    assert stream_events(campaign.pk) == []


def test_a_rolled_back_transition_appends_nothing(campaign, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            campaign_start(campaign=campaign)
            raise RuntimeError("the caller's transaction fails")
    assert callbacks == []
    assert Campaign.objects.get(pk=campaign.pk).status == "created"
    assert stream_events(campaign.pk) == []


# --- Concurrency ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_of_several_simultaneous_starts_exactly_one_wins(campaign):
    n = 6
    barrier = threading.Barrier(n)
    outcome: dict = {}

    threads = [
        in_thread(
            lambda: campaign_start(campaign=Campaign.objects.get(pk=campaign.pk)),
            outcome,
            str(i),
            barrier,
        )
        for i in range(n)
    ]
    for thread in threads:
        thread.join(20)

    won = [r for r in outcome.values() if isinstance(r, Campaign)]
    refused = [r for r in outcome.values() if isinstance(r, InvalidTransition)]
    assert len(won) == 1 and len(refused) == n - 1, outcome
    assert {r.status for r in refused} == {"dialing"}
    assert [e["type"] for e in events_read(campaign_stream(campaign.pk))] == ["campaign.started"]


@pytest.mark.django_db(transaction=True)
def test_a_transition_waiting_on_another_sees_its_result_not_the_status_it_read(campaign):
    """A pause blocked behind an uncommitted pause is refused once that one commits."""
    put_in(campaign, S.DIALING)
    holding = threading.Event()
    release = threading.Event()
    outcome: dict = {}

    def first_pause():
        with transaction.atomic():
            result = campaign_pause(campaign=Campaign.objects.get(pk=campaign.pk))
            holding.set()
            release.wait(10)
        return result

    first = in_thread(first_pause, outcome, "first")
    second = None
    try:
        assert holding.wait(10)
        # Read while the first pause is uncommitted: this instance still says "dialing".
        stale = Campaign.objects.get(pk=campaign.pk)
        assert stale.status == "dialing"
        second = in_thread(lambda: campaign_pause(campaign=stale), outcome, "second")
        eventually(
            lambda: waiting_on_a_lock(query_prefix='UPDATE "campaigns_campaign"'),
            what="the second pause waiting on the row lock",
        )
    finally:
        release.set()
        first.join(20)
        if second is not None:
            second.join(20)

    assert isinstance(outcome["first"], Campaign), outcome
    assert isinstance(outcome["second"], InvalidTransition), outcome
    assert outcome["second"].status == "paused"
