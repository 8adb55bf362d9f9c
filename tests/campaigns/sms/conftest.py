import pytest

from tests.factories import CampaignFactory


@pytest.fixture
def sms(org):
    """The org's SMS blast, sending."""
    return CampaignFactory(organization=org, channel="sms", sms_mode="blast", status="dialing")


@pytest.fixture
def other_sms(other_org):
    return CampaignFactory(organization=other_org, channel="sms", sms_mode="blast")
