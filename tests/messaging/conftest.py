import pytest

from tests.factories import CampaignFactory

TOKEN = "test-auth-token"  # the carrier account's auth token, which signs its webhooks
BASE = "https://hooks.example.test"  # the public URL the carrier is given (and signs)


@pytest.fixture
def carrier_settings(settings):
    """Webhooks signed with TOKEN for URLs under BASE, whose host Django accepts."""
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.PUBLIC_BASE_URL = BASE
    settings.WEBHOOK_URL_MODE = "public"
    settings.ALLOWED_HOSTS = ["hooks.example.test", "testserver"]


@pytest.fixture
def sms(org):
    """The org's SMS blast, sending."""
    return CampaignFactory(organization=org, channel="sms", sms_mode="blast", status="dialing")


@pytest.fixture
def other_sms(other_org):
    return CampaignFactory(organization=other_org, channel="sms", sms_mode="blast")
