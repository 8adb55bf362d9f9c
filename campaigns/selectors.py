"""Reads for campaigns: where a running campaign stands, in a few grouped queries."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import Coalesce

from campaigns.models import CallAttempt, Campaign
from campaigns.voice.dispatch import active_calls_by_org
from messaging.models import Message, MessageShortLink
from prospects.models import Prospect


@dataclass(frozen=True)
class ActiveCalls:
    """Calls claimed or in flight now, each next to the limit the dispatch tick holds it to."""

    campaign_pool: int
    campaign_pool_limit: int
    org: int
    org_limit: int
    total: int
    global_limit: int


@dataclass(frozen=True)
class CampaignProgress:
    campaign: Campaign
    prospects: dict[str, int]  # by prospect status
    attempts: dict[str, int]  # finished ones by outcome, open ones by attempt status
    calls_by_caller_id: list[tuple[str, int]]  # most used first
    active: ActiveCalls

    @property
    def attempts_total(self) -> int:
        return sum(self.attempts.values())


def campaign_active_calls_get(*, campaign: Campaign) -> ActiveCalls:
    """The counts the dispatch tick allocates slots from (campaigns.voice.dispatch)."""
    by_org = active_calls_by_org()
    return ActiveCalls(
        campaign_pool=Prospect.objects.filter(status=Prospect.Status.DIALING).count(),
        campaign_pool_limit=settings.DIALER_CHANNEL_POOLS["campaign"],
        org=by_org.get(campaign.organization_id, 0),
        org_limit=campaign.organization.concurrency_limit,
        total=sum(by_org.values()),
        global_limit=settings.DIALER_GLOBAL_CONCURRENCY,
    )


def _prospects_by_status(campaign_id: int) -> dict[str, int]:
    return dict(
        Prospect.objects.filter(campaign_id=campaign_id)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )


def campaign_progress_get(*, campaign_id: int) -> CampaignProgress:
    campaign = Campaign.objects.select_related("organization").get(pk=campaign_id)
    prospects = _prospects_by_status(campaign_id)
    attempts: dict[str, int] = {}
    rows = (
        CallAttempt.objects.filter(campaign_id=campaign_id)
        .values_list("status", "outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    for status, outcome, n in rows:
        attempts[outcome or status] = attempts.get(outcome or status, 0) + n
    by_caller_id = (
        CallAttempt.objects.filter(campaign_id=campaign_id)
        .values_list("from_number")
        .annotate(n=Count("id"))
        .order_by("-n", "from_number")
    )
    return CampaignProgress(
        campaign=campaign,
        prospects=prospects,
        attempts=attempts,
        calls_by_caller_id=list(by_caller_id),
        active=campaign_active_calls_get(campaign=campaign),
    )


@dataclass(frozen=True)
class BlastProgress:
    campaign: Campaign
    prospects: dict[str, int]  # by prospect status
    texts: dict[str, int]  # by message status
    dead_letters: dict[str, int]  # failed texts by failure reason
    submitted: int  # texts the carrier took
    segments: int  # their segments: what the organization paid for
    first_submitted_at: datetime | None
    last_submitted_at: datetime | None
    clicks: dict[str, int]  # campaign_link_stats


def blast_progress_get(*, campaign_id: int) -> BlastProgress:
    """Where an SMS campaign stands: its prospects, texts, dead letters, sends and clicks."""
    campaign = Campaign.objects.select_related("organization", "sender_pool").get(pk=campaign_id)
    prospects = _prospects_by_status(campaign_id)
    texts: dict[str, int] = {}
    dead_letters: dict[str, int] = {}
    rows = (
        Message.objects.filter(campaign_id=campaign_id)
        .values_list("status", "failure_reason")
        .annotate(n=Count("id"))
        .order_by()
    )
    for status, reason, n in rows:
        texts[status] = texts.get(status, 0) + n
        if reason:
            dead_letters[reason] = dead_letters.get(reason, 0) + n
    sent = Message.objects.filter(campaign_id=campaign_id).aggregate(
        n=Count("id", filter=Q(submitted=True)),
        segments=Sum("segments", filter=Q(submitted=True)),
        first=Min("submitted_at"),
        last=Max("submitted_at"),
    )
    return BlastProgress(
        campaign=campaign,
        prospects=prospects,
        texts=texts,
        dead_letters=dead_letters,
        submitted=sent["n"],
        segments=sent["segments"] or 0,
        first_submitted_at=sent["first"],
        last_submitted_at=sent["last"],
        clicks=campaign_link_stats(campaign=campaign),
    )


def campaign_link_stats(*, campaign: Campaign) -> dict[str, int]:
    """A campaign's clicks: `clicks` in all, `links_clicked` (links clicked at least once) and
    `messages_clicked` (messages with at least one clicked link). One query."""
    clicked = Q(clicks__gt=0)
    # Aliases other than the field names: an aggregate called `clicks` would hide the field.
    stats = MessageShortLink.objects.filter(
        organization_id=campaign.organization_id, campaign=campaign
    ).aggregate(
        total=Coalesce(Sum("clicks"), 0),
        links=Count("id", filter=clicked),
        messages=Count("message_id", filter=clicked, distinct=True),
    )
    return {
        "clicks": stats["total"],
        "links_clicked": stats["links"],
        "messages_clicked": stats["messages"],
    }
