"""The stale-claim sweep: prospects a dead worker left in `dialing` go back in the queue."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.services import prospects_release_stale_claims
from campaigns.tasks import release_stale_claims
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
    assert prospects_release_stale_claims() == 2

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


def test_an_explicit_cutoff_overrides_the_setting(campaign, lock_timeout):
    five = claimed(campaign, minutes_ago=5)
    one = claimed(campaign, minutes_ago=1)
    assert prospects_release_stale_claims(older_than_seconds=3 * 60) == 1
    assert Prospect.objects.get(pk=five.pk).status == "queued"
    assert Prospect.objects.get(pk=one.pk).status == "dialing"


def test_a_zero_cutoff_releases_every_claim(campaign, lock_timeout):
    claimed(campaign, minutes_ago=0.1)
    assert prospects_release_stale_claims(older_than_seconds=0) == 1


def test_running_the_sweep_again_releases_nothing(campaign, lock_timeout):
    claimed(campaign, minutes_ago=45)
    assert release_stale_claims() == {"released": 1}
    assert release_stale_claims() == {"released": 0}
