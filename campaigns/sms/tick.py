"""The SMS side of the tick and its sweeps: scheduled starts, lanes, completion, lost claims.

Every second (with the voice tick): SMS campaigns whose `start_at` has come are started; each
sending drip whose turn has come texts its next prospect (campaigns.sms.drip); each sending
campaign with messages due gets its executor lanes (campaigns.sms.executor); a sending campaign
whose every prospect is delivered, failed or cancelled completes (a drip's queued prospects,
waiting for their turn or their window, keep it sending). The sweep gives claims
older than SMS_CLAIM_TIMEOUT_SECONDS back: a message that was never put to the carrier is
queued again; one that was (`submitting_at`) is looked up at the carrier by its number, sender
and time: found, it takes the carrier's sid and status (its delivery report may have come and
been given up on while no text had the sid); not found, it is queued again and the segments it
was charged come back. The same sweep asks the carrier about texts it took whose final report
has not come within SMS_REPORT_TIMEOUT_SECONDS: a carrier does not retry a report our web tier
failed to take, and one lost report would keep its blast from ever completing.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.services import campaign_start
from campaigns.sms.blast import blast_prepare
from campaigns.sms.delivery import FINAL, texts_report
from campaigns.sms.drip import drip_start, drips_tick
from campaigns.sms.executor import lanes_start
from config.errors import DomainError
from config.events import event_emit
from messaging.models import Message
from messaging.providers import MessageInfo, ProviderError, get_provider
from orgs.services import credits_return
from prospects.models import Prospect

log = logging.getLogger(__name__)
_UNFINISHED = (Prospect.Status.QUEUED, Prospect.Status.SENDING, Prospect.Status.SENT)


def sms_tick(*, now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    counts = {
        "started": _start_scheduled(now),
        "drip_texts": drips_tick(now=now).get("texted", 0),
        "lanes": 0,
        "completed": 0,
    }
    sending = list(
        Campaign.objects.filter(
            status=Campaign.Status.DIALING, channel=Campaign.Channel.SMS
        ).values_list("id", "organization_id")
    )
    due = {
        cid
        for cid, _ in sending
        if Message.objects.filter(
            campaign_id=cid, status=Message.Status.QUEUED, send_at__lte=now
        ).exists()
    }
    if due:
        counts["lanes"] = lanes_start(campaign_ids=sorted(due))
    for campaign_id, org_id in sending:
        if campaign_id not in due and _complete(campaign_id, org_id, now):
            counts["completed"] += 1
    return counts


def sms_campaign_start(*, campaign: Campaign, now: datetime) -> None:
    """What starting an SMS campaign writes, in `campaign_start`'s transaction: a blast its
    audience's texts (campaigns.sms.blast), a drip nothing but its first turn's time
    (campaigns.sms.drip)."""
    prepare = drip_start if campaign.sms_mode == Campaign.SmsMode.DRIP else blast_prepare
    prepare(campaign=campaign, now=now)


def _start_scheduled(now: datetime) -> int:
    started = 0
    for campaign in Campaign.objects.filter(
        status=Campaign.Status.CREATED, channel=Campaign.Channel.SMS, start_at__lte=now
    ):
        try:
            campaign_start(campaign=campaign)
            started += 1
        except DomainError as exc:  # a scheduled start that cannot start stays created
            log.warning("scheduled campaign %s did not start: %s", campaign.pk, exc)
    return started


def _complete(campaign_id: int, org_id: int, now: datetime) -> bool:
    """dialing -> completed when every prospect is delivered, failed or cancelled."""
    if Prospect.objects.filter(campaign_id=campaign_id, status__in=_UNFINISHED).exists():
        return False
    done = Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.DIALING).update(
        status=Campaign.Status.COMPLETED, finished_at=now, updated_at=now
    )
    if done:
        event_emit("campaign.completed", org_id=org_id, campaign_id=campaign_id)
    return bool(done)


def text_claims_release_stale(*, now: datetime | None = None) -> dict[str, int]:
    """Claims a worker left behind: queued again, or found at the carrier first."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SMS_CLAIM_TIMEOUT_SECONDS)
    stale = Message.objects.filter(status=Message.Status.SENDING, claimed_at__lt=cutoff)
    released = stale.filter(submitting_at__isnull=True).update(
        status=Message.Status.QUEUED, claimed_by="", claimed_at=None, updated_at=now
    )
    found = requeued = 0
    for message in stale.filter(submitting_at__isnull=False, sid__isnull=True)[:500]:
        text = _carrier_text(message)
        if text is False:
            continue  # the carrier could not say: try again next sweep
        with transaction.atomic():
            if text:
                moved = Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(
                    status=Message.Status.SENT, sid=text.sid, submitted=True, submitted_at=now,
                    updated_at=now,
                )  # fmt: skip
                Prospect.objects.filter(
                    pk=message.prospect_id, status=Prospect.Status.SENDING
                ).update(status=Prospect.Status.SENT, updated_at=now)
                if moved:  # its reports came while no text had its sid: the carrier's word
                    texts_report({text.sid: (text.status, text.error_code, 0)}, {})
                found += moved
            else:
                moved = Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(
                    status=Message.Status.QUEUED, claimed_by="", claimed_at=None,
                    submitting_at=None, updated_at=now,
                )  # fmt: skip
                if moved:  # paid for when it was put to the carrier, which never had it
                    credits_return(org_id=message.organization_id, segments=message.segments)
                requeued += moved
    return {"released": released, "found_at_carrier": found, "requeued": requeued}


REPORTS_PER_SWEEP = 1000


def reports_reconcile(*, now: datetime | None = None) -> dict[str, int]:
    """Texts left `sent` for SMS_REPORT_TIMEOUT_SECONDS: the carrier's word on each, applied as
    its report would have been (`texts_report`). One the carrier has no final word on yet is
    asked about again a timeout later; one it cannot answer for now, at the next sweep."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SMS_REPORT_TIMEOUT_SECONDS)
    late = list(
        Message.objects.filter(status=Message.Status.SENT, updated_at__lt=cutoff)
        .exclude(sid=None)
        .order_by("updated_at")
        .values_list("id", "sid")[:REPORTS_PER_SWEEP]
    )
    if not late:
        return {"reports_asked": 0, "reports_final": 0}
    answers = get_provider().fetch_messages([sid for _, sid in late])
    reports, asked = {}, []
    for (message_id, sid), answer in zip(late, answers, strict=True):
        if isinstance(answer, ProviderError):
            log.warning("text %s: the carrier did not say how it went: %r", sid, answer)
            continue
        reports[sid] = (answer.status, answer.error_code, 0)
        asked.append(message_id)
    with transaction.atomic():
        texts_report(reports, {})
        Message.objects.filter(id__in=asked, status=Message.Status.SENT).update(updated_at=now)
    final = sum(1 for status, _, _ in reports.values() if status in FINAL)
    return {"reports_asked": len(asked), "reports_final": final}


def _carrier_text(message: Message) -> MessageInfo | None | bool:
    """The carrier's text to this number from this sender with this body, sent since the
    claim put it to the carrier; None if there is none; False if the carrier could not be
    asked."""
    try:
        texts = get_provider().list_messages(
            to=message.to,
            from_=message.from_number,
            sent_after=message.submitting_at - timedelta(minutes=1),
        )
    except ProviderError as exc:
        log.warning("could not reconcile message %s: %r", message.pk, exc)
        return False
    for text in texts:
        if getattr(text, "body", None) in (None, message.body):
            return text
    return None
