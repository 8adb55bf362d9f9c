"""Dead letters: texts that failed, counted by why, and sent again where that is safe.

A text that failed before the carrier took it (or while it was being asked) may be sent again:
it goes back to the queue as a fresh message, due now. One the carrier took (it has a sid;
UNDELIVERED) never is: the carrier already tried it, and a second copy could reach the person.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, QuerySet

from campaigns.models import Campaign
from config.bulk import sql_in
from messaging.models import Message
from orgs.models import Organization
from prospects.models import Prospect

Reason = Message.FailureReason
# Failed before the carrier took the text: sending it again is the operator's call.
RETRYABLE_REASONS: tuple[str, ...] = (
    Reason.STALE,
    Reason.BLOCKED_CONTENT,
    Reason.CONTACT_BLOCKED,
    Reason.PROVIDER_ERROR,
    Reason.NO_RESPONSE,
    Reason.RATE_LIMIT_TIMEOUT,
    Reason.BILLING,
)

# One conditional UPDATE: only the organization's failed texts with a retryable reason, never
# one the carrier took (sid), never one of a cancelled campaign. {selected} and {reasons} are
# sql_in clauses or fixed column comparisons, never values; the statuses are parameters.
_REQUEUE_SQL = f"""
UPDATE {Message._meta.db_table}
   SET status = %s, failure_reason = '', failure_detail = '', error_code = NULL,
       carrier_status = '', submitted = NULL, delivered = NULL, wait = '',
       waiting_since = NULL, tries = 0, claimed_by = '', claimed_at = NULL,
       submitting_at = NULL, send_at = %s, updated_at = %s
 WHERE organization_id = %s AND status = %s AND sid IS NULL
   AND failure_reason {{reasons}} AND {{selected}}
   AND (campaign_id IS NULL
        OR campaign_id NOT IN (SELECT id FROM {Campaign._meta.db_table} WHERE status = %s))
RETURNING prospect_id, campaign_id
"""
_PROSPECTS_SENDING_SQL = (
    f"UPDATE {Prospect._meta.db_table} SET status = %s, updated_at = %s WHERE id {{ids}}"
)


@dataclass(frozen=True)
class RetryResult:
    requeued: int  # back in the queue, due now
    skipped: int  # asked for, but unknown, another org's, not failed or not retryable


def dead_letters(*, org: Organization) -> QuerySet[Message]:
    """The organization's texts that failed with a reason, newest failure first."""
    return Message.objects.filter(organization=org).exclude(failure_reason="")


def messages_retry(
    *,
    org: Organization,
    now: datetime,
    ids: Sequence[int] | None = None,
    failure_reason: str | None = None,
    campaign_id: int | None = None,
) -> RetryResult:
    """Queue failed texts again, chosen by `ids`, or by `failure_reason` and/or `campaign_id`.

    Each is a fresh message due `now` (reason, carrier answer, waits, tries and claim cleared),
    and its prospect is `sending` again; a completed campaign with texts queued again goes
    back to dialing so the tick sends them (a paused one sends them once resumed). Texts of
    another organization, the carrier took (UNDELIVERED) or of a cancelled campaign are skipped,
    never touched. A `failure_reason` that is never retried is a ValidationError.
    """
    if ids is None and failure_reason is None and campaign_id is None:
        raise ValueError("Choose the texts: ids, or a failure_reason and/or a campaign.")
    if failure_reason is not None and failure_reason not in RETRYABLE_REASONS:
        raise ValidationError(
            {
                "failure_reason": [
                    f"{failure_reason} texts are not sent again: the carrier took them. "
                    f"Retryable: {', '.join(RETRYABLE_REASONS)}."
                ]
            }
        )
    reasons, reasons_param = sql_in(list(RETRYABLE_REASONS))
    when = connection.ops.adapt_datetimefield_value(now)
    selected, params = _selection(ids, failure_reason, campaign_id)
    sql = _REQUEUE_SQL.format(reasons=reasons, selected=selected)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            sql,
            [
                Message.Status.QUEUED, when, when, org.pk, Message.Status.FAILED, reasons_param,
                *params, Campaign.Status.CANCELLED,
            ],
        )  # fmt: skip
        rows = cur.fetchall()
        prospect_ids = sorted({p for p, _ in rows if p is not None})
        if prospect_ids:
            clause, param = sql_in(prospect_ids)
            sql = _PROSPECTS_SENDING_SQL.format(ids=clause)
            cur.execute(sql, [Prospect.Status.SENDING, when, param])
        Campaign.objects.filter(
            pk__in={c for _, c in rows if c is not None}, status=Campaign.Status.COMPLETED
        ).update(status=Campaign.Status.DIALING, finished_at=None, updated_at=now)
    if ids is not None:
        return RetryResult(requeued=len(rows), skipped=len(set(ids)) - len(rows))
    left = _filtered(dead_letters(org=org), failure_reason, campaign_id).count()
    return RetryResult(requeued=len(rows), skipped=left)


def _selection(
    ids: Sequence[int] | None, failure_reason: str | None, campaign_id: int | None
) -> tuple[str, list]:
    if ids is not None:
        clause, param = sql_in(sorted(set(ids)))
        return f"id {clause}", [param]
    conditions, params = ["TRUE"], []
    if failure_reason is not None:
        conditions.append("failure_reason = %s")
        params.append(failure_reason)
    if campaign_id is not None:
        conditions.append("campaign_id = %s")
        params.append(campaign_id)
    return " AND ".join(conditions), params


def _filtered(qs: QuerySet[Message], failure_reason: str | None, campaign_id: int | None):
    if failure_reason is not None:
        qs = qs.filter(failure_reason=failure_reason)
    if campaign_id is not None:
        qs = qs.filter(campaign_id=campaign_id)
    return qs


# --- Reads -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetterSummary:
    total: int
    retryable: int  # of them, those a retry would queue again (by reason)
    by_reason: dict[str, int]  # every reason, 0 where none
    by_campaign: list[dict]  # {"campaign": id | None, "failure_reason": ..., "count": n}


def dead_letters_summary(*, org: Organization, campaign_id: int | None = None) -> DeadLetterSummary:
    """The organization's dead letters (or one campaign's) counted by reason, in one query."""
    rows = (
        _filtered(dead_letters(org=org), None, campaign_id)
        .values_list("campaign_id", "failure_reason")
        .annotate(n=Count("id"))
        .order_by("campaign_id", "failure_reason")
    )
    by_reason: dict[str, int] = defaultdict(int, {r: 0 for r in Reason.values if r})
    by_campaign = []
    for campaign, reason, n in rows:
        by_reason[reason] += n
        by_campaign.append({"campaign": campaign, "failure_reason": reason, "count": n})
    return DeadLetterSummary(
        total=sum(by_reason.values()),
        retryable=sum(n for reason, n in by_reason.items() if reason in RETRYABLE_REASONS),
        by_reason=dict(by_reason),
        by_campaign=by_campaign,
    )
