"""Where a campaign stands: its prospects and attempts only, the active calls the dispatch tick
counts (its org's, the campaign pool's, everyone's) and the caller IDs it used most; a blast's
texts, sends, dead letters and clicks."""

from django.utils import timezone

from campaigns.models import CallAttempt
from campaigns.selectors import blast_progress_get, campaign_progress_get
from messaging.models import Message, MessageShortLink
from tests.campaigns.sms.helpers import blast, sender_pool
from tests.factories import CampaignFactory, ProspectFactory, make_prospect


def attempt(campaign, *, from_number: str, status: str = "finished", outcome: str = "busy"):
    prospect = ProspectFactory(campaign=campaign, status="busy")
    return CallAttempt.objects.create(
        organization=campaign.organization,
        campaign=campaign,
        prospect=prospect,
        claim=f"c{prospect.pk}",
        to="+14155550101",
        from_number=from_number,
        status=status,
        outcome=outcome if status == "finished" else "",
    )


def test_counts_are_the_campaigns_own(campaign, other_campaign, settings):
    settings.DIALER_GLOBAL_CONCURRENCY, settings.DIALER_CHANNEL_POOLS = 50, {"campaign": 60}
    ProspectFactory.create_batch(3, campaign=campaign, status="queued")
    ProspectFactory.create_batch(2, campaign=campaign, status="dialing")
    sibling = CampaignFactory(organization=campaign.organization)
    ProspectFactory(campaign=sibling, status="dialing")
    ProspectFactory.create_batch(4, campaign=other_campaign, status="dialing")
    attempt(campaign, from_number="+14156660001", outcome="voicemail")
    attempt(campaign, from_number="+14156660002", outcome="voicemail")
    attempt(campaign, from_number="+14156660002", status="in_flight")
    attempt(other_campaign, from_number="+14156669999", outcome="human_connected")

    progress = campaign_progress_get(campaign_id=campaign.pk)

    assert progress.prospects == {"queued": 3, "dialing": 2, "busy": 3}
    assert progress.attempts == {"voicemail": 2, "in_flight": 1}
    assert progress.attempts_total == 3
    assert progress.calls_by_caller_id == [("+14156660002", 2), ("+14156660001", 1)]
    active = progress.active
    assert (active.org, active.org_limit) == (3, campaign.organization.concurrency_limit)
    assert (active.campaign_pool, active.campaign_pool_limit) == (7, 60)
    assert (active.total, active.global_limit) == (7, 50)


def text(campaign, to: str, status: str, **fields):
    prospect = make_prospect(
        campaign, to, status="delivered" if status == "delivered" else "failed"
    )
    return Message.objects.create(
        organization=campaign.organization,
        campaign=campaign,
        prospect=prospect,
        to=to,
        body="Hi",
        status=status,
        **fields,
    )


def test_a_blasts_progress_counts_its_own_texts_sends_dead_letters_and_clicks(org, other_org):
    campaign = blast(org, sender_pool(org, "+14156660001"))
    other = blast(other_org, sender_pool(other_org, "+14156669999"))
    now = timezone.now()
    sent = {"submitted": True, "submitted_at": now}
    delivered = text(campaign, "+14155550101", "delivered", segments=2, **sent)
    text(campaign, "+14155550102", "failed", failure_reason="UNDELIVERED", **sent)
    text(campaign, "+14155550103", "failed", failure_reason="BLOCKED_CONTENT", submitted=False)
    text(other, "+14155550101", "delivered", **sent)
    MessageShortLink.objects.create(
        organization=org,
        campaign=campaign,
        message=delivered,
        code="abc",
        url="https://x.io",
        clicks=3,
    )

    progress = blast_progress_get(campaign_id=campaign.pk)

    assert progress.texts == {"delivered": 1, "failed": 2}
    assert progress.dead_letters == {"UNDELIVERED": 1, "BLOCKED_CONTENT": 1}
    assert (progress.submitted, progress.segments) == (2, 3)
    assert progress.first_submitted_at == progress.last_submitted_at == now
    assert progress.prospects == {"delivered": 1, "failed": 2}
    assert progress.clicks == {"clicks": 3, "links_clicked": 1, "messages_clicked": 1}
