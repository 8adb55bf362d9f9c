"""An SMS blast end to end with real processes: the carrier simulator, Celery workers for the
`sms` and `webhooks` queues, a dispatcher ticking (its SMS tick runs the executor lanes and
the lost-claim sweep) and the web tier on gunicorn taking the carrier's signed delivery
reports.

5,000 texts go out at the senders' rate and the blast ends `completed` with counts that agree
with each other, with the org's credit and with what the carrier saw; a worker killed with
SIGKILL mid-blast loses no text and has no one texted twice."""

from datetime import UTC, datetime

import pytest
import requests
from django.db.models import Count, Sum

from campaigns.models import Campaign
from campaigns.services import campaign_start
from config.launcher import start_dispatcher, start_worker
from messaging.models import Message, WebhookEvent
from orgs.models import Organization
from prospects.models import Prospect
from tests.campaigns.conftest import import_rows
from tests.campaigns.sms.helpers import blast, sender_pool
from tests.carrier import sim_scenario
from tests.e2e.conftest import callable_block, carrier_env
from tests.factories import OrganizationFactory, SuppressionFactory
from tests.waiting import eventually

pytestmark = pytest.mark.django_db(transaction=True)

PROSPECTS = 5_000
CREDITS = 100_000
# Ten caller IDs at 200 segments a second, the pool at their sum: the blast takes seconds.
SENDERS, SENDER_MPS = 10, 200
POOL_RATE = SENDERS * SENDER_MPS * 60
VARIANTS = (
    ("Hi {first_name|there}, your spring statement is ready. Reply STOP to opt out.", 70),
    (
        "Hello {first_name|there}! Our spring prices are in store now and online, with free "
        "delivery on every order this week and next. See what is new: "
        "https://shop.example.com/spring Reply STOP to opt out.",
        30,
    ),  # two segments, with a short link
)
# Prospects by their line in the import (0-based), each left out or refused for its reason.
DNC, STOPPED = 11, 12  # suppressed after the import: cancelled at the start
BLOCKED = (21, 22)  # named "Casino", a blocked word: dead-lettered before the carrier
LANDLINES = (31, 32, 33)  # the carrier refuses them (21614)


def _build(block: str, prospects: int) -> Campaign:
    """A created blast of `prospects` in `block` from a fresh org's pool of SENDERS."""
    org = OrganizationFactory(sms_credits=CREDITS, blocked_words=["casino"])
    pool = sender_pool(
        org,
        *(f"+1415666{i:04d}" for i in range(SENDERS)),
        rate_per_minute=POOL_RATE,
        mps=SENDER_MPS,
    )
    campaign = blast(org, pool, *VARIANTS)
    names = {i: "Casino" for i in BLOCKED}
    rows = [f"{block.format(i)},{names.get(i, f'P{i}')}" for i in range(prospects)]
    assert import_rows(campaign, *rows, header="phone,first_name")["imported"] == prospects
    SuppressionFactory(organization=org, e164=block.format(DNC), reason="dnc")
    SuppressionFactory(organization=org, e164=block.format(STOPPED), reason="stop")
    return campaign


def _scenario(carrier: str, block: str) -> None:
    sim_scenario(
        carrier,
        mps={"long_code": SENDER_MPS},  # the carrier paces each sender as the pool does
        sms_delivery_rate=0.9,
        landlines=[block.format(i) for i in LANDLINES],
        callback_delay_ms=[0, 20],
    )


def _counts(qs, field: str) -> dict[str, int]:
    return dict(qs.values_list(field).annotate(n=Count("id")).order_by())


def _state(campaign: Campaign) -> str:
    """What a blast that did not complete is waiting for."""
    c = Campaign.objects.get(pk=campaign.pk)
    prospects = _counts(Prospect.objects.filter(campaign=campaign), "status")
    messages = _counts(Message.objects.filter(campaign=campaign), "status")
    pending = WebhookEvent.objects.filter(processed_at__isnull=True).count()
    return (
        f"blast {c.status}/{c.pause_reason or '-'} not completed: prospects {prospects}, "
        f"messages {messages}, inbox events pending {pending}"
    )


def _stack(log_dir, name: str, env: dict, *, sms_workers: int = 1) -> list:
    """The blast's processes: Celery workers for `sms` and for `webhooks`, a dispatcher that
    sweeps lost claims every second."""
    return [
        *(
            start_worker(log_dir, f"{name}-sms-{n}", queues="sms", env=env)
            for n in range(1, sms_workers + 1)
        ),
        start_worker(log_dir, f"{name}-webhooks", queues="webhooks,default", env=env),
        start_dispatcher(log_dir, f"{name}-dispatcher", env=env, sweep_every=1),
    ]


def _run(campaign: Campaign, processes: list, *, logs: list, kill=None) -> list[int]:
    """Start the blast and wait for `completed`, then stop `processes`. `kill` (one of two sms
    workers of two children each) dies with SIGKILL once a fifth of the texts are with the
    carrier and three batches are being put to it, so at least one of them is its own;
    returns the ids of the texts claimed then."""
    texts = Message.objects.filter(campaign=campaign)
    in_hand = []

    def batches_on_their_way() -> int:
        on_their_way = texts.filter(status="sending", submitting_at__isnull=False)
        return on_their_way.values("claimed_by").distinct().count()

    try:
        campaign_start(campaign=campaign)
        if kill is not None:
            eventually(
                lambda: (
                    texts.filter(submitted=True).count() >= PROSPECTS // 5
                    and batches_on_their_way() >= 3
                ),
                timeout=60,
                what="a fifth of the texts sent and three batches on their way",
                logs=logs,
            )
            kill.kill()  # with a batch half sent, its children too
            in_hand = list(texts.filter(status="sending").values_list("id", flat=True))
        eventually(
            lambda: Campaign.objects.get(pk=campaign.pk).status == "completed",
            timeout=120,
            interval=0.5,
            what=lambda: _state(campaign),
            logs=logs,
        )
    finally:
        for process in processes:
            process.stop()
    return in_hand


def _settled(campaign: Campaign, carrier: str) -> tuple[dict, dict]:
    """Asserts that every text and prospect is final, in counts that agree with each other and
    with the carrier's; returns the carrier's stats and the texts by status."""
    campaign.refresh_from_db()
    assert campaign.status == "completed"
    stats = requests.get(f"{carrier}/_sim/stats", timeout=10).json()
    texts = Message.objects.filter(campaign=campaign)
    queued = PROSPECTS - 2
    assert campaign.audience == {
        "evaluated": PROSPECTS,
        "suppressed": 1,
        "unsubscribed": 1,
        "queued": queued,
    }
    by_status = _counts(texts, "status")
    assert set(by_status) == {"delivered", "failed"}  # nothing queued, claimed or unreported
    assert sum(by_status.values()) == texts.count() == queued
    reasons = _counts(texts.filter(status="failed"), "failure_reason")
    assert reasons == {
        "BLOCKED_CONTENT": len(BLOCKED),
        "PROVIDER_ERROR": len(LANDLINES),
        "UNDELIVERED": reasons["UNDELIVERED"],
    }
    refused = texts.filter(failure_reason="PROVIDER_ERROR")
    assert set(refused.values_list("error_code", flat=True)) == {21614}

    # What the carrier saw: each number texted once, every report applied to its text.
    accepted = texts.filter(submitted=True).count()
    assert stats["messages"]["created"] == accepted == queued - len(BLOCKED) - len(LANDLINES)
    assert len(stats["messages"]["by_to"]) == accepted
    assert set(stats["messages"]["by_to"].values()) == {1}
    assert stats["messages"]["by_status"] == {
        "delivered": by_status["delivered"],
        "undelivered": reasons["UNDELIVERED"],
    }
    assert not WebhookEvent.objects.filter(outcome="unknown_sid").exists()
    assert stats["callbacks"]["failed"] == 0  # every signature checked out

    # Every prospect ended as its text did.
    assert _counts(Prospect.objects.filter(campaign=campaign), "status") == {
        "delivered": by_status["delivered"],
        "failed": by_status["failed"],
        "cancelled": 2,
    }
    return stats, by_status


def test_a_5000_text_blast_completes_with_counts_the_carrier_and_the_credit_agree_with(
    carrier, web, log_dir
):
    block = callable_block(datetime.now(UTC), channel="sms")
    campaign = _build(block, PROSPECTS)
    _scenario(carrier, block)
    processes = _stack(log_dir, "blast", carrier_env(carrier, web[1]))
    _run(campaign, processes, logs=[web[0], *processes])

    stats, by_status = _settled(campaign, carrier)
    assert stats["rejections"] == {"21614": len(LANDLINES)}  # refused once, never tried again
    assert 0.85 < by_status["delivered"] / stats["messages"]["created"] < 0.95
    # The org paid for the segments the carrier took, no more (refused texts are refunded).
    accepted = Message.objects.filter(campaign=campaign, submitted=True)
    segments = accepted.aggregate(n=Sum("segments"))["n"]
    assert segments > accepted.count()  # the long variant is two segments
    credits = Organization.objects.get(pk=campaign.organization_id).sms_credits
    assert CREDITS - credits == segments


def test_a_worker_killed_mid_blast_loses_no_text_and_texts_no_one_twice(carrier, web, log_dir):
    block = callable_block(datetime.now(UTC), channel="sms")
    campaign = _build(block, PROSPECTS)
    _scenario(carrier, block)
    # Claims are given up on after 8 s (well over a batch's run), not 10 minutes.
    env = carrier_env(carrier, web[1], SMS_CLAIM_TIMEOUT_SECONDS="8")
    processes = _stack(log_dir, "crash", env, sms_workers=2)
    in_hand = _run(campaign, processes, logs=[web[0], *processes], kill=processes[0])

    assert in_hand  # the dead worker's claims: found at the carrier or sent again, once
    _settled(campaign, carrier)
    assert not Message.objects.filter(pk__in=in_hand, status="sending").exists()
