import pytest

TOKEN = "test-auth-token"  # the carrier account's auth token, which signs its webhooks
BASE = "https://hooks.example.test"  # the public URL the carrier is given (and signs)


@pytest.fixture
def carrier_settings(settings):
    """Webhooks signed with TOKEN for URLs under BASE, whose host Django accepts."""
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.PUBLIC_BASE_URL = BASE
    settings.WEBHOOK_URL_MODE = "public"
    settings.ALLOWED_HOSTS = ["hooks.example.test", "testserver"]
