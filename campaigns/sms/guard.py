"""Guards on an SMS campaign's sending: the error-rate auto-pause and the billing-stop alert.

The SMS engine calls `campaign_error_rate_check` after each batch of sends and each batch of
delivery callbacks, and `billing_stop_alert` when it dead-letters texts for want of credit.
"""

import logging

import redis
from django.conf import settings

from campaigns.models import Campaign
from campaigns.services import campaign_auto_pause
from config.bulk import sql_rows
from config.redis import get_redis
from messaging.models import Message
from orgs.alerts import alert_emit
from orgs.models import AlertDelivery, Organization

log = logging.getLogger(__name__)
MS, FR = Message.Status, Message.FailureReason

# A send is a text the carrier was asked to take: sent, delivered, or failed there. Texts
# that failed before reaching it (stale, blocked, suppressed, no credit, rate-limit timeout)
# say nothing about the carrier or the content and are not counted.
SEND_FAILURES = (FR.NONE, FR.PROVIDER_ERROR, FR.NO_RESPONSE, FR.UNDELIVERED)


def _newest(alias: str, *, failures: bool = False) -> str:
    """A campaign's newest texts of one status by id: a backward scan of
    message_campaign_status (campaign, status, id) that stops after LIMIT rows."""
    reasons = ", ".join(["%s"] * len(SEND_FAILURES))
    reason = f" AND failure_reason IN ({reasons})" if failures else ""
    return (
        f"SELECT * FROM (SELECT id, status FROM {Message._meta.db_table}"
        f" WHERE campaign_id = %s AND status = %s{reason} ORDER BY id DESC LIMIT %s) AS {alias}"
    )


# The window: the last N sends in sending order (ids follow it), each with what became of it,
# counted in one statement. Each status contributes its newest N by id, and the newest N of
# their union are exactly the campaign's newest N, so the statement reads at most 3 N rows
# however many the campaign has sent. (Ordering by updated_at instead would let delivery
# reports applied in one batch, with one timestamp, decide which texts count.)
_WINDOW_SQL = (
    "SELECT count(*), coalesce(sum(CASE WHEN status = %s THEN 1 ELSE 0 END), 0) FROM"
    f" (SELECT status FROM ({_newest('s')} UNION ALL {_newest('d')} UNION ALL"
    f" {_newest('f', failures=True)}) AS c ORDER BY id DESC LIMIT %s) AS w"
)


def campaign_error_rate_window(*, campaign_id: int, size: int) -> tuple[int, int]:
    """(sends, failed) among the campaign's last `size` sends."""
    params = [
        MS.FAILED,
        *(campaign_id, MS.SENT, size),
        *(campaign_id, MS.DELIVERED, size),
        *(campaign_id, MS.FAILED, *SEND_FAILURES, size),
        size,
    ]
    ((sends, failed),) = sql_rows(_WINDOW_SQL, params)
    return sends, failed


def campaign_error_rate_check(*, campaign_id: int) -> bool:
    """Pause a dialing campaign whose recent sends fail too often; True when this paused it.

    Over the last SMS_ERROR_RATE_WINDOW sends, once at least SMS_ERROR_RATE_MIN_SENDS are
    there, more than SMS_ERROR_RATE_THRESHOLD of them failed: dialing -> paused with reason
    `error_rate` (a conditional update: of racing checks one pauses), the event
    `campaign.paused.error_rate` and an alert to the organization. It stays paused until an
    operator resumes it. Two queries when nothing is to be done.
    """
    campaign = (
        Campaign.objects.select_related("organization")
        .filter(pk=campaign_id, status=Campaign.Status.DIALING)
        .first()
    )
    if campaign is None:
        return False
    size, threshold = settings.SMS_ERROR_RATE_WINDOW, settings.SMS_ERROR_RATE_THRESHOLD
    sends, failed = campaign_error_rate_window(campaign_id=campaign_id, size=size)
    if sends < settings.SMS_ERROR_RATE_MIN_SENDS or failed / sends <= threshold:
        return False
    details = {
        "error_rate": round(failed / sends, 4),
        "failed": failed,
        "sends": sends,
        "window": size,
        "threshold": threshold,
    }
    return campaign_auto_pause(campaign=campaign, reason=Campaign.PauseReason.ERROR_RATE, **details)


def billing_dedupe_key(org_id: int) -> str:
    return f"outbound:alerts:billing-stopped:{org_id}"


def billing_stop_alert(
    *, org: Organization, campaign_id: int, messages: int
) -> AlertDelivery | None:
    """Alert `billing.stopped`: `messages` texts of the campaign were dead-lettered for want
    of credit. At most once per organization every ALERT_BILLING_DEDUPE_SECONDS (a Redis key,
    SET NX), so a blast that runs dry alerts once, not per batch. None when not alerted."""
    if not org.alert_webhook_url or messages <= 0:
        return None
    try:
        first = get_redis().set(
            billing_dedupe_key(org.pk),
            campaign_id,
            nx=True,
            ex=settings.ALERT_BILLING_DEDUPE_SECONDS,
        )
    except redis.RedisError as exc:  # the dead letters are in PostgreSQL; the alert waits
        log.warning("billing alert for org %s skipped: %r", org.pk, exc)
        return None
    if not first:
        return None
    name = Campaign.objects.filter(pk=campaign_id).values_list("name", flat=True).first()
    return alert_emit(
        org=org,
        event="billing.stopped",
        data={
            "campaign_id": campaign_id,
            "campaign_name": name or "",
            "reason": Campaign.PauseReason.BILLING.value,
            "messages": messages,
        },
    )
