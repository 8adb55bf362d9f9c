"""What the database refuses for campaigns."""

import pytest
from django.db import IntegrityError, transaction

from campaigns.models import Campaign


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
