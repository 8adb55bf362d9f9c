"""A carrier for engine tests: the simulator in a background thread, the provider pointed at
it. Callbacks go nowhere here (tests/e2e runs the whole loop); tests set call states through
the inbox's own model instead."""

import io

import pytest
import requests

from campaigns.events import campaign_stream, org_stream
from campaigns.models import Campaign
from config.redis import get_redis
from messaging.providers import get_provider
from messaging.simulator import SimulatorServer
from prospects.importing import prospects_import
from tests.carrier import sim_scenario

ACCOUNT, TOKEN = "AC" + "d4" * 16, "engine-test-token"


@pytest.fixture(scope="session")
def _engine_simulator():
    server = SimulatorServer(accounts={ACCOUNT: TOKEN})
    server.start()
    yield server
    server.stop()


class Carrier:
    def __init__(self, base_url: str):
        self.base_url = base_url

    def scenario(self, **values) -> None:
        sim_scenario(self.base_url, **{"seed": 3, **values})

    def stats(self) -> dict:
        return requests.get(f"{self.base_url}/_sim/stats", timeout=5).json()


@pytest.fixture
def carrier(_engine_simulator, settings):
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = ACCOUNT, TOKEN
    settings.TWILIO_API_BASE_URL = _engine_simulator.base_url
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"  # nothing listens: callbacks are dropped
    get_provider.cache_clear()
    handle = Carrier(_engine_simulator.base_url)
    requests.post(f"{handle.base_url}/_sim/reset", timeout=5).raise_for_status()
    handle.scenario()
    yield handle
    get_provider.cache_clear()


def import_rows(campaign, *rows: str, header: str = "phone,phone2,timezone") -> dict:
    """Prospects through the real import, so their zones are what production stores."""
    data = "\n".join([header, *rows]) + "\n"
    return prospects_import(campaign=campaign, fileobj=io.BytesIO(data.encode()))


S = Campaign.Status
# (action, from) -> to: every transition an operator may make.
VALID_TRANSITIONS = {
    ("start", S.CREATED): S.DIALING,
    ("pause", S.DIALING): S.PAUSED,
    ("resume", S.PAUSED): S.DIALING,
    ("cancel", S.CREATED): S.CANCELLED,
    ("cancel", S.DIALING): S.CANCELLED,
    ("cancel", S.PAUSED): S.CANCELLED,
}


def put_in(campaign: Campaign, status: str, reason: str = "") -> Campaign:
    """Force `campaign` into a status (paused gets a reason, as the constraint allows)."""
    if status == S.PAUSED and not reason:
        reason = Campaign.PauseReason.MANUAL
    Campaign.objects.filter(pk=campaign.pk).update(status=status, pause_reason=reason)
    campaign.refresh_from_db()
    return campaign


@pytest.fixture
def empty_streams(campaign, other_campaign):
    """The event streams of both orgs' campaigns, empty before and after the test."""
    keys = [
        campaign_stream(campaign.pk),
        campaign_stream(other_campaign.pk),
        org_stream(campaign.organization_id),
        org_stream(other_campaign.organization_id),
    ]
    get_redis().delete(*keys)
    yield
    get_redis().delete(*keys)
