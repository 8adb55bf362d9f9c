"""A voice campaign end to end with real processes: the carrier simulator, two Celery workers,
two dispatchers and the live web tier run 500 prospects to `completed`, one worker is killed
with SIGKILL on the way, and the carrier's own counts show nothing dialed too often and never
more calls at once than the limits allow."""

from datetime import UTC, datetime

import pytest
import requests
from django.db.models import Count

from campaigns.models import CallAttempt, Campaign
from campaigns.services import campaign_start
from config.launcher import start_dispatcher, start_worker
from messaging.models import WebhookEvent
from prospects.models import Prospect
from tests.campaigns.conftest import import_rows
from tests.carrier import sim_scenario
from tests.e2e.conftest import callable_block, carrier_env
from tests.factories import CampaignFactory, DidFactory, OrganizationFactory
from tests.waiting import eventually

pytestmark = pytest.mark.django_db(transaction=True)

PROSPECTS = 500
ORG_LIMIT = 12


def _state(campaign) -> str:
    """What a campaign that did not complete is waiting for."""
    c = Campaign.objects.get(pk=campaign.pk)
    prospects = dict(
        Prospect.objects.filter(campaign=campaign).values_list("status").annotate(n=Count("id"))
    )
    attempts = dict(
        CallAttempt.objects.filter(campaign=campaign).values_list("status").annotate(n=Count("id"))
    )
    pending = WebhookEvent.objects.filter(processed_at__isnull=True).count()
    return (
        f"campaign {c.status}/{c.pause_reason or '-'} not completed: prospects {prospects}, "
        f"attempts {attempts}, inbox events pending {pending}"
    )


def test_a_campaign_runs_to_completed_through_a_worker_crash(
    carrier, live_server, log_dir, settings
):
    block = callable_block(datetime.now(UTC))
    org = OrganizationFactory(concurrency_limit=ORG_LIMIT)
    for i in range(5):
        DidFactory(organization=org, e164=f"+1415666{i:04d}", area_code="415")
    campaign = CampaignFactory(
        organization=org,
        calls_per_second=60,
        retry_delay_minutes=0,
        max_attempts_per_phone_number=2,
    )
    rows = [block.format(i) + ",," for i in range(PROSPECTS)]
    assert import_rows(campaign, *rows)["imported"] == PROSPECTS
    sim_scenario(
        carrier,
        time_scale=0.004,  # calls of 20-180 s take 0.08-0.7 s
        ring_seconds=[2, 10],
        call_outcomes={"human": 60, "machine": 15, "busy": 10, "no_answer": 10, "failed": 5},
        callback_delay_ms=[0, 30],
        out_of_order=True,
        duplicate_callbacks=True,
    )
    env = carrier_env(
        carrier,
        live_server.url,
        INBOX_UNKNOWN_SID_GRACE_SECONDS="2",
        PROSPECT_LOCK_TIMEOUT_SECONDS="4",
        DIALER_RECONCILE_AFTER_SECONDS="3",
        DIALER_GLOBAL_CONCURRENCY="30",
    )
    queues = "dialer,webhooks,default"
    workers = [
        start_worker(log_dir, f"voice-worker-{n}", queues=queues, env=env, concurrency=2)
        for n in (1, 2)
    ]
    dispatchers = [
        start_dispatcher(log_dir, f"dispatcher-{n}", env=env, sweep_every=1.5) for n in (1, 2)
    ]
    processes = [*workers, *dispatchers]
    try:
        campaign_start(campaign=campaign)

        def some_calls_made():
            return CallAttempt.objects.count() >= PROSPECTS // 5

        eventually(some_calls_made, timeout=60, what="a fifth of the calls", logs=processes)
        workers[0].kill()  # mid-campaign, with tasks in hand

        def completed():
            return Campaign.objects.get(pk=campaign.pk).status == "completed"

        eventually(
            completed, timeout=240, interval=0.5, what=lambda: _state(campaign), logs=processes
        )
    finally:
        for process in processes:
            process.stop()

    stats = requests.get(f"{carrier}/_sim/stats", timeout=5).json()
    prospects = Prospect.objects.filter(campaign=campaign)
    assert not prospects.filter(status__in=["queued", "dialing"]).exists()  # none lost
    assert max(stats["calls"]["by_to"].values()) <= 2  # the retry policy's bound
    assert len(stats["calls"]["by_to"]) == PROSPECTS
    assert stats["calls"]["concurrent"]["peak"] <= ORG_LIMIT
    placed = CallAttempt.objects.filter(campaign=campaign).exclude(sid=None)
    assert placed.count() == stats["calls"]["created"]  # every call the carrier saw is ours
    assert placed.values("sid").distinct().count() == placed.count()
    statuses = set(prospects.values_list("status", flat=True))
    assert statuses <= {"human_connected", "human_hangup", "voicemail", "exhausted", "failed"}
    assert "human_connected" in statuses
