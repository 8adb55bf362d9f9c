"""What the database refuses for campaigns and their call attempts."""

import pytest
from django.db import IntegrityError, transaction

from campaigns.models import CallAttempt, Campaign


@pytest.mark.parametrize(
    "changes",
    [
        {"status": "running"},
        {"channel": "fax"},
        {"calls_per_second": 0},
        {"calls_per_second": -1},
        {"max_attempts_per_phone_number": 0},
        {"status": "dialing", "pause_reason": "manual"},
    ],
)
def test_invalid_rows_are_rejected(campaign, changes):
    with pytest.raises(IntegrityError), transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).update(**changes)


def test_a_paused_campaign_may_carry_its_reason(campaign):
    Campaign.objects.filter(pk=campaign.pk).update(status="paused", pause_reason="no_dids")
    campaign.refresh_from_db()
    assert campaign.pause_reason == "no_dids"


@pytest.mark.parametrize("changes", [{"drop_status": "sent"}, {"machine_detection": "enable"}])
def test_invalid_attempt_rows_are_rejected(campaign, changes):
    attempt = CallAttempt.objects.create(
        organization=campaign.organization, campaign=campaign, to="+14155550101"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        CallAttempt.objects.filter(pk=attempt.pk).update(**changes)
