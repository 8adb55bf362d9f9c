"""Where a campaign stands: its prospects and attempts only, the active calls the dispatch tick
counts (its org's, the campaign pool's, everyone's) and the caller IDs it used most."""

from campaigns.models import CallAttempt
from campaigns.selectors import campaign_progress_get
from tests.factories import CampaignFactory, ProspectFactory


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
