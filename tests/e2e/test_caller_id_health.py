"""Caller-ID health end to end: the carrier simulator labels one caller ID as spam (the callee's
carrier rejects its calls with SIP 608); with real workers, a dispatcher and the web tier taking
the callbacks, that caller ID cools down, comes back on a ramp, and burns, while the others
stay active and carry the campaign. A campaign whose every caller ID is labelled pauses with
`no_dids` and stays paused until it is resumed."""

import time
from datetime import UTC, datetime

import pytest
from django.db.models import Count, Q
from django.utils import timezone

from campaigns.models import CallAttempt, Campaign
from campaigns.services import campaign_resume, campaign_start
from config.events import events_read, org_stream
from config.launcher import start_dispatcher, start_worker
from dids.models import Did, DidHealthEvent
from prospects.models import Prospect
from tests.campaigns.conftest import import_rows
from tests.carrier import sim_scenario
from tests.e2e.conftest import callable_block, carrier_env
from tests.e2e.test_voice_campaign import _state
from tests.factories import CampaignFactory, DidFactory, OrganizationFactory
from tests.waiting import eventually

pytestmark = pytest.mark.django_db(transaction=True)

BAD = "+14156669013"  # spam-labelled at the carrier
HOPELESS = ("+13125550101", "+13125550102")  # the second org's only caller IDs, both labelled


def campaign_of(org, block: str, first: int, count: int) -> Campaign:
    campaign = CampaignFactory(organization=org, calls_per_second=8, retry_delay_minutes=600)
    rows = [block.format(first + i) + ",," for i in range(count)]
    assert import_rows(campaign, *rows)["imported"] == count
    return campaign


def calls_by_caller_id(org) -> dict[str, int]:
    return dict(
        CallAttempt.objects.filter(organization=org)
        .exclude(sid=None)
        .values_list("from_number")
        .annotate(n=Count("id"))
    )


def test_a_spam_labelled_caller_id_cools_then_burns_while_the_others_carry_the_campaign(
    carrier, live_server, log_dir
):
    block = callable_block(datetime.now(UTC))
    org = OrganizationFactory(concurrency_limit=20)
    good = [DidFactory(organization=org, e164=f"+1415666{9010 + i}") for i in range(3)]
    bad = DidFactory(organization=org, e164=BAD)
    campaign = campaign_of(org, block, 0, 320)
    hopeless_org = OrganizationFactory(concurrency_limit=20)
    for e164 in HOPELESS:
        DidFactory(organization=hopeless_org, e164=e164, area_code="312")
    hopeless = campaign_of(hopeless_org, block, 5000, 120)
    sim_scenario(
        carrier,
        time_scale=0.002,  # a two-minute call lasts a quarter of a second
        ring_seconds=[2, 8],
        spam_from={BAD: 1.0, **dict.fromkeys(HOPELESS, 1.0)},
    )
    env = carrier_env(
        carrier,
        live_server.url,
        DIALER_GLOBAL_CONCURRENCY="40",
        DIALER_AMD_GRACE_SECONDS="1",
        # Every caller ID above 0.5 counts as equally healthy, so the spam-labelled one keeps its
        # share of the calls (least used today first) until its score takes it out of rotation.
        DID_HEALTH_TIE_BAND="0.5",
        # Time compressed: a short cooldown, a short ramp and probation.
        DID_COOLDOWN_SECONDS="1",
        DID_RAMP_CALLS="4",
        DID_RAMP_MIN_SHARE="0.5",
        DID_HEALTH_PROBATION_CALLS="3",
    )
    queues = "dialer,webhooks,health,default"
    processes = [
        start_worker(log_dir, f"health-worker-{n}", queues=queues, env=env, concurrency=2)
        for n in (1, 2)
    ]
    processes.append(start_dispatcher(log_dir, "health-dispatcher", env=env, sweep_every=1))
    try:
        campaign_start(campaign=campaign)
        campaign_start(campaign=hopeless)

        def hopeless_paused():
            c = Campaign.objects.get(pk=hopeless.pk)
            return (c.status, c.pause_reason) == ("paused", "no_dids")

        def hopeless_states() -> set[str]:
            return set(
                Did.objects.filter(organization=hopeless_org).values_list("state", flat=True)
            )

        # Its caller IDs cool (then, back on probation, burn); each time none is left the
        # campaign pauses with no_dids, and caller IDs coming back do not resume it.
        for _ in range(3):
            eventually(hopeless_paused, timeout=60, what="paused for no_dids", logs=processes)
            if hopeless_states() == {"burned"}:
                break
            eventually(
                lambda: "cooling" not in hopeless_states(),
                timeout=30,
                what="back from cooldown",
                logs=processes,
            )
            time.sleep(2)
            assert hopeless_paused()
            campaign_resume(campaign=Campaign.objects.get(pk=hopeless.pk))
        assert hopeless_states() == {"burned"}
        # A clean caller ID joins; the campaign stays paused until someone resumes it.
        fresh = DidFactory(organization=hopeless_org, e164="+13125550199", area_code="312")
        time.sleep(3)  # three ticks
        assert hopeless_paused()
        assert not CallAttempt.objects.filter(from_number=fresh.e164).exists()
        campaign_resume(campaign=Campaign.objects.get(pk=hopeless.pk))
        eventually(
            lambda: CallAttempt.objects.filter(from_number=fresh.e164).count() >= 5,
            timeout=30,
            what="calls from the fresh caller ID after the resume",
            logs=processes,
        )

        def bad_burned():
            return Did.objects.get(pk=bad.pk).state == "burned"

        def bad_state():
            d = Did.objects.get(pk=bad.pk)
            return (
                f"the spam caller ID burned: {d.state} score {d.health_score} window "
                f"{d.health_calls} calls, cooldowns {d.cooldowns}, ramp {d.ramp_calls} "
                f"credit {d.ramp_credit}, calls {calls_by_caller_id(org)} since {d.health_since}"
            )

        eventually(bad_burned, timeout=90, what=bad_state, logs=processes)

        def first_pass_done():  # every prospect called once (retries are due hours later)
            left = Prospect.objects.filter(campaign=campaign).filter(
                Q(status="dialing") | Q(status="queued", next_attempt_at__lte=timezone.now())
            )
            return not left.exists()

        eventually(first_pass_done, timeout=120, what=lambda: _state(campaign), logs=processes)
    finally:
        for process in processes:
            process.stop()

    bad.refresh_from_db()
    kinds = [e["type"] for e in events_read(org_stream(org.id), count=10_000)]
    assert "did.health.cooldown" in kinds and "did.health.burned" in kinds
    assert kinds.index("did.health.cooldown") < kinds.index("did.health.burned")
    assert bad.cooldowns == 1
    for did in good:
        did.refresh_from_db()
        assert did.state == "active" and did.health_score >= 0.7
    calls = calls_by_caller_id(org)
    assert all(calls[d.e164] > 2 * calls[BAD] for d in good)  # the traffic moved to them
    bad_events = DidHealthEvent.objects.filter(did=bad)
    assert bad_events.filter(spam=True).exists()
    before = bad_events.filter(attempt__created_at__lt=bad.health_since).count()
    after = bad_events.filter(attempt__created_at__gte=bad.health_since).count()
    print(
        f"\nspam caller ID: {before} calls until its cooldown (some settled after it began), "
        f"{after} after it came back until it burned; calls by caller ID {calls}"
    )
