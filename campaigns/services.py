"""Writes for campaigns and the prospects they work through."""

from django.db import transaction
from django.utils import timezone

from campaigns.channels import start_handle
from campaigns.models import Campaign
from campaigns.validation import validate_variants
from config.errors import DomainError
from config.events import event_emit
from messaging.models import MessageVariant
from orgs.alerts import alert_emit
from prospects.models import Prospect

# --- The campaign state machine --------------------------------------------------------------
#
#   created --start--> dialing --pause--> paused --resume--> dialing
#   created | dialing | paused --cancel--> cancelled
#   dialing --> completed is the dispatch tick's (campaigns.voice.dispatch), not an operator's.
#
# Each transition is one conditional UPDATE on the current status, so two operators (or an
# operator and the tick) racing on one campaign cannot both win; the loser gets
# InvalidTransition naming the status it lost to.


class InvalidTransition(DomainError):
    """The campaign's current status does not allow the requested change (HTTP 409)."""

    def __init__(self, status: str, *, action: str = "change", campaign_id: int | None = None):
        self.status = status
        self.action = action
        self.campaign_id = campaign_id
        super().__init__(f"Cannot {action} a campaign that is {status}.", code="invalid_transition")


_STARTABLE = (Campaign.Status.CREATED,)
_PAUSABLE = (Campaign.Status.DIALING,)
_RESUMABLE = (Campaign.Status.PAUSED,)
_CANCELLABLE = (Campaign.Status.CREATED, Campaign.Status.DIALING, Campaign.Status.PAUSED)


def _campaign_transition(
    *, campaign: Campaign, action: str, from_: tuple[str, ...], **changes
) -> None:
    """Move `campaign` out of one of `from_` with one conditional UPDATE, or raise."""
    updated = Campaign.objects.filter(pk=campaign.pk, status__in=from_).update(**changes)
    if updated:
        return
    current = Campaign.objects.filter(pk=campaign.pk).values_list("status", flat=True).first()
    if current is None:
        raise Campaign.DoesNotExist(f"Campaign {campaign.pk} does not exist.")
    raise InvalidTransition(current, action=action, campaign_id=campaign.pk)


def campaign_start(*, campaign: Campaign) -> Campaign:
    """created -> dialing. The pacing bucket starts empty, so the first call waits its turn.

    The campaign's channel prepares its start in the same transaction (campaigns.channels):
    an SMS blast is validated and its messages written, and an invalid one raises BlastInvalid
    and stays created, with nothing written; a drip is validated the same way and writes
    nothing, its texts go one a turn (campaigns.sms).
    """
    now = timezone.now()
    with transaction.atomic():
        # Lock the row, then check the transition: a blast writes its audience only once.
        Campaign.objects.select_for_update(no_key=True).filter(pk=campaign.pk).first()
        _campaign_transition(
            campaign=campaign,
            action="start",
            from_=_STARTABLE,
            status=Campaign.Status.DIALING,
            started_at=now,
            pacing_tokens=0.0,
            pacing_at=now,
            updated_at=now,
        )
        start_handle(campaign=campaign, now=now)
        event_emit("campaign.started", org_id=campaign.organization_id, campaign_id=campaign.pk)
    campaign.refresh_from_db()
    return campaign


def campaign_pause(*, campaign: Campaign, reason: str = Campaign.PauseReason.MANUAL) -> Campaign:
    """dialing -> paused, recording why. Calls already claimed or in flight finish."""
    if not reason or reason not in Campaign.PauseReason.values:
        raise ValueError(
            f"Unknown pause reason {reason!r}; one of: "
            + ", ".join(r for r in Campaign.PauseReason.values if r)
        )
    _campaign_transition(
        campaign=campaign,
        action="pause",
        from_=_PAUSABLE,
        status=Campaign.Status.PAUSED,
        pause_reason=reason,
        updated_at=timezone.now(),
    )
    event_emit(
        "campaign.paused",
        org_id=campaign.organization_id,
        campaign_id=campaign.pk,
        reason=str(reason),
    )
    campaign.refresh_from_db()
    return campaign


def campaign_auto_pause(*, campaign: Campaign, reason: str, now=None, **details) -> bool:
    """dialing -> paused by the engine (no_dids, error_rate): one conditional update, the event
    `campaign.paused.<reason>` and an alert to the organization. True when this paused it;
    it stays paused until an operator resumes it."""
    with transaction.atomic():
        paused = Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.DIALING).update(
            status=Campaign.Status.PAUSED, pause_reason=reason, updated_at=now or timezone.now()
        )
        if not paused:
            return False
        event = f"campaign.paused.{reason}"
        event_emit(event, org_id=campaign.organization_id, campaign_id=campaign.pk, **details)
        alert_emit(
            org=campaign.organization,
            event=event,
            data={
                "campaign_id": campaign.pk,
                "campaign_name": campaign.name,
                "reason": str(reason),
                **details,
            },
        )
    campaign.status, campaign.pause_reason = Campaign.Status.PAUSED, reason
    return True


def campaign_resume(*, campaign: Campaign) -> Campaign:
    """paused -> dialing. The pacing bucket is emptied, so a long pause never bursts."""
    now = timezone.now()
    _campaign_transition(
        campaign=campaign,
        action="resume",
        from_=_RESUMABLE,
        status=Campaign.Status.DIALING,
        pause_reason=Campaign.PauseReason.NONE,
        pacing_tokens=0.0,
        pacing_at=now,
        updated_at=now,
    )
    event_emit("campaign.resumed", org_id=campaign.organization_id, campaign_id=campaign.pk)
    campaign.refresh_from_db()
    return campaign


def campaign_cancel(*, campaign: Campaign) -> Campaign:
    """created | dialing | paused -> cancelled, and its queued prospects with it.

    Prospects already `dialing` (claimed or in flight) are left to finish. The campaign row is
    updated first, as the dispatch tick and the import lock it before its prospects, so a
    claim or an import in progress completes before the queued prospects are cancelled.
    """
    now = timezone.now()
    with transaction.atomic():
        _campaign_transition(
            campaign=campaign,
            action="cancel",
            from_=_CANCELLABLE,
            status=Campaign.Status.CANCELLED,
            pause_reason=Campaign.PauseReason.NONE,
            finished_at=now,
            updated_at=now,
        )
        cancelled = Prospect.objects.filter(
            campaign_id=campaign.pk, status=Prospect.Status.QUEUED
        ).update(
            status=Prospect.Status.CANCELLED,
            last_outcome="campaign_cancelled",
            updated_at=now,
        )
        event_emit(
            "campaign.cancelled",
            org_id=campaign.organization_id,
            campaign_id=campaign.pk,
            prospects_cancelled=cancelled,
        )
    campaign.refresh_from_db()
    return campaign


# --- SMS variants ----------------------------------------------------------------------------


def campaign_variants_set(*, campaign: Campaign, variants: list[dict]) -> list[MessageVariant]:
    """Make `variants` (`name`, `body`, `percentage` each, in order) the campaign's texts, all of
    them. A variant whose name stays keeps its row, so messages sent with it still name it;
    new names are added and the names left out are deleted."""
    validate_variants(variants)
    with transaction.atomic():
        # The full lock: the variants left out are deleted below.
        rows = MessageVariant.objects.filter(campaign=campaign).select_for_update(no_key=False)
        existing = {row.name: row for row in rows}
        kept, added = [], []
        for position, spec in enumerate(variants):
            row = existing.pop(spec["name"], None) or MessageVariant(campaign=campaign)
            row.name, row.body, row.percentage = spec["name"], spec["body"], spec["percentage"]
            row.position = position
            (added if row.pk is None else kept).append(row)
        if existing:
            MessageVariant.objects.filter(pk__in=[row.pk for row in existing.values()]).delete()
        MessageVariant.objects.bulk_update(kept, ["body", "percentage", "position"])
        MessageVariant.objects.bulk_create(added)
    return sorted(kept + added, key=lambda row: row.position)
