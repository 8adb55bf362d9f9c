"""Delivery reports for campaign texts: message, prospect, events, the error-rate guard.

Applied by the webhook inbox in batches (messaging.services): a few set-based statements per
batch. `delivered` and `undelivered`/`failed` are final: a report that comes after one (late
or repeated) changes nothing. Earlier statuses (`sending`, `sent`) only record the carrier's
progress on a text that is not final yet.
"""

from collections import defaultdict

from django.utils import timezone

from campaigns.sms.guard import campaign_error_rate_check
from config.bulk import rows_update
from config.events import events_emit
from messaging.models import MESSAGE_STATUS_RANK, Message, WebhookEvent
from prospects.models import Prospect

S = Message.Status
_OPEN = (S.SENDING, S.SENT)  # a report may still change these
_FINAL_FAILED = ("undelivered", "failed")
FINAL = ("delivered", *_FINAL_FAILED)  # carrier statuses after which a text does not change


def texts_report(reports: dict[str, tuple[str, int | None, int]], outcomes: dict) -> set[str]:
    """Apply `reports` ({sid: (carrier status, error code, inbox event id)}) to campaign
    texts; sets each event's inbox outcome; returns the sids that were campaign texts."""
    rows = list(
        Message.objects.filter(sid__in=reports).values_list(
            "sid", "id", "status", "carrier_status", "campaign_id", "organization_id",
            "prospect_id", "to",
        )
    )  # fmt: skip
    if not rows:
        return set()
    now = timezone.now()
    delivered, undelivered, progress = [], [], defaultdict(list)
    for row in rows:
        sid, _id, status, carrier_status, *_ = row
        reported, code, event_id = reports[sid]
        outcome = WebhookEvent.Outcome.APPLIED
        if status not in _OPEN:
            outcome = WebhookEvent.Outcome.STALE
        elif reported == "delivered":
            delivered.append(row)
        elif reported in _FINAL_FAILED:
            undelivered.append((row, reported, code))
        elif MESSAGE_STATUS_RANK.get(reported, 0) > MESSAGE_STATUS_RANK.get(carrier_status, 0):
            progress[reported].append(row[1])
        else:
            outcome = WebhookEvent.Outcome.STALE
        outcomes[event_id] = outcome
    _delivered(delivered, now)
    _undelivered(undelivered, now)
    for reported, ids in progress.items():
        Message.objects.filter(id__in=ids, status__in=_OPEN).update(
            carrier_status=reported, updated_at=now
        )
    for campaign_id in {row[4] for row, _, _ in undelivered if row[4]}:
        campaign_error_rate_check(campaign_id=campaign_id)
    return {row[0] for row in rows}


def _delivered(rows: list[tuple], now) -> None:
    if not rows:
        return
    Message.objects.filter(id__in=[r[1] for r in rows], status__in=_OPEN).update(
        status=S.DELIVERED, delivered=True, delivered_at=now, carrier_status="delivered",
        updated_at=now,
    )  # fmt: skip
    _prospects(rows, Prospect.Status.DELIVERED, now)
    events_emit(
        [("campaign.sms.delivered", r[5], r[4], {"message": r[1], "to": r[7], "sid": r[0]})
         for r in rows]
    )  # fmt: skip


def _undelivered(items: list[tuple], now) -> None:
    if not items:
        return
    rows_update(
        Message,
        ["status", "failure_reason", "failure_detail", "delivered", "error_code",
         "carrier_status", "updated_at"],
        [(r[1], S.FAILED, Message.FailureReason.UNDELIVERED, f"carrier: {reported}", False,
          code, reported, now) for r, reported, code in items],
        only_if={"status": S.SENT},
    )  # fmt: skip
    _prospects([r for r, _, _ in items], Prospect.Status.FAILED, now)
    events_emit(
        [("campaign.sms.delivery_failed", r[5], r[4],
          {"message": r[1], "to": r[7], "sid": r[0], "error_code": code})
         for r, _, code in items]
    )  # fmt: skip


def _prospects(rows: list[tuple], status: str, now) -> None:
    ids = [r[6] for r in rows if r[6]]
    if ids:
        Prospect.objects.filter(
            id__in=ids, status__in=[Prospect.Status.SENDING, Prospect.Status.SENT]
        ).update(status=status, updated_at=now)
