"""The stale-claim sweep: prospects a dead task left in `dialing` with no call go back in the
queue; a prospect whose call is in flight is never touched."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import CallAttempt
from campaigns.voice.outcomes import call_claims_release_stale
from campaigns.voice.tasks import release_stale_claims
from prospects.models import Prospect
from tests.factories import ProspectFactory


def claimed(campaign, *, minutes_ago: float, status=Prospect.Status.DIALING) -> Prospect:
    return ProspectFactory(
        campaign=campaign,
        status=status,
        locked_by="worker-1",
        locked_at=timezone.now() - timedelta(minutes=minutes_ago),
        next_attempt_at=timezone.now() + timedelta(days=1),
    )


@pytest.fixture
def lock_timeout(settings):
    settings.PROSPECT_LOCK_TIMEOUT_SECONDS = 30 * 60


def test_only_dialing_prospects_claimed_before_the_cutoff_are_requeued(
    campaign, other_campaign, lock_timeout
):
    stale = claimed(campaign, minutes_ago=31)
    stale_elsewhere = claimed(other_campaign, minutes_ago=90)
    fresh = claimed(campaign, minutes_ago=29)
    completed = claimed(campaign, minutes_ago=90, status=Prospect.Status.COMPLETED)
    queued = claimed(campaign, minutes_ago=90, status=Prospect.Status.QUEUED)
    never_claimed = ProspectFactory(campaign=campaign, status=Prospect.Status.DIALING)

    before = timezone.now()
    assert call_claims_release_stale() == 2

    for prospect in (stale, stale_elsewhere):
        prospect.refresh_from_db()
        assert prospect.status == Prospect.Status.QUEUED
        assert (prospect.locked_by, prospect.locked_at) == ("", None)
        assert prospect.next_attempt_at >= before  # due now, not tomorrow
    for prospect, status in (
        (fresh, "dialing"),
        (completed, "completed"),
        (queued, "queued"),
        (never_claimed, "dialing"),
    ):
        was_locked_at = prospect.locked_at
        prospect.refresh_from_db()
        assert prospect.status == status
        assert prospect.locked_at == was_locked_at


def test_a_claim_whose_call_is_in_flight_is_never_released(campaign, lock_timeout):
    dead = claimed(campaign, minutes_ago=45)
    calling = claimed(campaign, minutes_ago=45)
    CallAttempt.objects.create(
        organization=campaign.organization,
        campaign=campaign,
        prospect=calling,
        claim=calling.locked_by,
        to="+14155550101",
        status="in_flight",
        sid="CA" + "1" * 32,
    )
    assert call_claims_release_stale() == 1
    assert Prospect.objects.get(pk=dead.pk).status == "queued"
    assert Prospect.objects.get(pk=calling.pk).status == "dialing"


def test_the_cutoff_follows_the_setting(campaign, settings):
    settings.PROSPECT_LOCK_TIMEOUT_SECONDS = 3 * 60
    five = claimed(campaign, minutes_ago=5)
    one = claimed(campaign, minutes_ago=1)
    assert call_claims_release_stale() == 1
    assert Prospect.objects.get(pk=five.pk).status == "queued"
    assert Prospect.objects.get(pk=one.pk).status == "dialing"


def test_running_the_sweep_again_releases_nothing(campaign, lock_timeout):
    claimed(campaign, minutes_ago=45)
    assert release_stale_claims() == {"released": 1}
    assert release_stale_claims() == {"released": 0}
