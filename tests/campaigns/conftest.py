"""A carrier for engine tests: the simulator in a background thread, the provider pointed at
it. Its callbacks go nowhere unless a test asks for `callbacks` (then they reach the live web
tier's inbox and `work_until` does what the workers do with them); otherwise tests set call
states through the inbox's own model. A dialing campaign and helpers to tick and place."""

import io
from datetime import UTC, datetime, timedelta

import pytest
import requests

from campaigns.models import CallAttempt, Campaign
from campaigns.voice.attempts import calls_place
from campaigns.voice.dispatch import dispatch_tick
from campaigns.voice.late_verdicts import attempts_correct_late_verdicts
from campaigns.voice.outcomes import attempts_settle
from campaigns.voice.voicemail import voicemail_drops
from carrier_simulator import SimulatorServer
from config.celery import app as celery_app
from config.events import campaign_stream, org_stream
from config.redis import get_redis
from messaging.providers import get_provider
from messaging.services import inbox_apply_batch
from prospects.importing import prospects_import
from prospects.models import Prospect
from tests.carrier import sim_scenario
from tests.factories import CampaignFactory, DidFactory
from tests.waiting import eventually

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

    def twiml_updates(self) -> list[dict]:
        return requests.get(f"{self.base_url}/_sim/twiml-updates", timeout=5).json()[
            "twiml_updates"
        ]


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


@pytest.fixture
def callbacks(carrier, live_server, settings):
    """The carrier's signed callbacks reach the live web tier and wait in its inbox."""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.WEBHOOK_URL_MODE = "public"
    yield
    celery_app.control.purge()  # the inbox tasks the webhooks enqueued: no worker runs here


def work_until(check, *, timeout: float = 15.0, what: str | None = None):
    """Do what the workers do with arriving callbacks (apply the inbox, play voicemail drops,
    settle, correct late verdicts) until `check()` holds; returns what it returned."""

    def step():
        inbox_apply_batch()
        voicemail_drops()
        attempts_settle()
        attempts_correct_late_verdicts()
        return check()

    return eventually(step, timeout=timeout, interval=0.02, what=what or check.__doc__)


# A Wednesday: 10:00 in Los Angeles, 13:00 in New York.
NOON = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)


@pytest.fixture
def dialing(org):
    """A dialing voice campaign of `org` with one caller ID, +14156660001."""
    org.concurrency_limit = 50
    org.save()
    campaign = CampaignFactory(
        organization=org,
        status="dialing",
        calls_per_second=5,
        started_at=NOON,
        pacing_tokens=5,
        pacing_at=NOON,
    )
    DidFactory(organization=org, e164="+14156660001", area_code="415")
    return campaign


def import_due(campaign, *rows):
    """Import, then make the new prospects due at NOON (imports stamp the real time)."""
    result = import_rows(campaign, *rows)
    Prospect.objects.filter(campaign=campaign).update(next_attempt_at=NOON - timedelta(hours=1))
    return result


def tick(now=NOON, **kw):
    return dispatch_tick(now=now, **kw)


def place(campaign, now=NOON):
    """Place the calls of every claim the campaign's prospects hold, as the attempt tasks do."""
    by_claim: dict[str, list[int]] = {}
    for p in Prospect.objects.filter(campaign=campaign, status=Prospect.Status.DIALING):
        by_claim.setdefault(p.locked_by, []).append(p.id)
    counts: dict[str, int] = {}
    for claim, ids in by_claim.items():
        placed = calls_place(campaign_id=campaign.id, claim=claim, prospect_ids=ids, now=now)
        for k, v in placed.items():
            counts[k] = counts.get(k, 0) + v
    return counts


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


def _empty_streams(*campaigns):
    """The event streams of the campaigns and their orgs, empty before and after the test."""
    keys = [k for c in campaigns for k in (campaign_stream(c.pk), org_stream(c.organization_id))]
    get_redis().delete(*keys)
    yield
    get_redis().delete(*keys)


@pytest.fixture
def empty_streams(campaign, other_campaign):
    yield from _empty_streams(campaign, other_campaign)


@pytest.fixture
def dialing_streams(dialing, other_campaign):
    """The streams of `dialing`, the other org's campaign and both orgs, empty to start with."""
    yield from _empty_streams(dialing, other_campaign)


def dial(campaign, *numbers: str) -> list:
    """Import `numbers` as prospects, claim and place them; their attempts, oldest first."""
    import_due(campaign, *[f"{n},," for n in numbers])
    tick()
    assert place(campaign)["placed"] == len(numbers)
    return list(CallAttempt.objects.filter(campaign=campaign).order_by("id"))


def settled(attempt):
    """A `work_until` check: the attempt has its outcome."""

    def check():
        return CallAttempt.objects.filter(pk=attempt.pk, status="finished").first()

    check.__doc__ = f"attempt {attempt.pk} settled"
    return check
