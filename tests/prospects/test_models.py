"""What the database refuses for prospects, their numbers and the suppression list."""

import pytest
from django.db import IntegrityError, transaction

from prospects.models import Prospect, ProspectPhone, Suppression
from tests.factories import CampaignFactory, SuppressionFactory, make_prospect


def test_a_number_appears_once_per_campaign(campaign, org):
    first = make_prospect(campaign, "+14155550101")
    second = make_prospect(campaign)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProspectPhone.objects.create(prospect=second, campaign=campaign, e164="+14155550101")
    # The same number in another campaign, even of the same org, is another prospect.
    make_prospect(CampaignFactory(organization=org), "+14155550101")
    assert ProspectPhone.objects.filter(e164="+14155550101").count() == 2
    assert first.phones.count() == 1


def test_positions_are_unique_per_prospect(campaign):
    prospect = make_prospect(campaign, "+14155550101")
    with pytest.raises(IntegrityError), transaction.atomic():
        ProspectPhone.objects.create(
            prospect=prospect, campaign=campaign, position=0, e164="+14155550102"
        )


def test_prospect_status_must_be_known(campaign):
    prospect = make_prospect(campaign)
    with pytest.raises(IntegrityError), transaction.atomic():
        Prospect.objects.filter(pk=prospect.pk).update(status="ringing")


def test_a_suppression_is_unique_per_org_not_globally(org, other_org):
    SuppressionFactory(organization=org, e164="+12125550101")
    SuppressionFactory(organization=other_org, e164="+12125550101")
    with pytest.raises(IntegrityError), transaction.atomic():
        SuppressionFactory(organization=org, e164="+12125550101", reason="stop")
    assert Suppression.objects.count() == 2


def test_suppression_reason_must_be_known(org):
    with pytest.raises(IntegrityError), transaction.atomic():
        SuppressionFactory(organization=org, reason="bored")
