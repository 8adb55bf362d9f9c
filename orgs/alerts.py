"""Alerts: what an organization's operators must hear about, POSTed to its webhook.

An alert is a row (AlertDelivery) written in the transaction that caused it; its delivery is
enqueued once that commits. The row's `payload` is the JSON object that is POSTed, so its
body (compact, keys sorted) is the same bytes on every attempt; each attempt signs it with
the organization's current `alert_secret`:

    X-Outbound-Signature: sha256=<hex HMAC-SHA256 of the body>

An attempt first claims the row with one conditional UPDATE (pending, due, and as it was
read) that counts the attempt and pushes `next_attempt_at` past the task's time limit, so a
second task or the sweep finds nothing due and POSTs nothing; no row lock is held while the
receiver answers. A 2xx delivers it. Anything else (another status, including 4xx: a
receiver is often misconfigured for a while; a timeout; no connection) is tried again after
an exponential backoff with full jitter (a Retry-After is honoured, within the cap) until
ALERT_MAX_ATTEMPTS, then the alert fails with `last_error`. Retries are enqueued with a
countdown, and the beat sweep enqueues every pending alert that is due, so a lost task or a
worker that died mid-POST delays an alert but never loses it. Receivers may get an alert
twice (a worker killed after the POST, before recording it): X-Outbound-Delivery is its id.

Each attempt goes to the organization's URL as it is then: changing it redirects the
pending alerts, clearing it fails them.
"""

import hashlib
import hmac
import json
import logging
import random
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from config.celery import task_signature
from orgs.models import AlertDelivery, Organization, _new_alert_secret

log = logging.getLogger(__name__)
Status = AlertDelivery.Status

# The delivery task's time limits; a claim outlasts the hard one, so a claimed alert is free
# again only once its worker is surely gone.
DELIVER_SOFT_TIME_LIMIT = 30
DELIVER_TIME_LIMIT = 40
CLAIM_SECONDS = DELIVER_TIME_LIMIT + 20
# Alerts the sweep enqueues per run (more wait for the next run).
SWEEP_BATCH = 500
USER_AGENT = "outbound-alerts/1"
ERROR_MAX_CHARS = AlertDelivery._meta.get_field("last_error").max_length


def alert_signature(secret: str, body: bytes) -> str:
    """The X-Outbound-Signature of `body`: `sha256=<hex HMAC-SHA256 keyed with secret>`.

    A receiver recomputes it over the raw request body and compares in constant time.
    """
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def alert_body(payload: dict) -> bytes:
    """The bytes POSTed for a payload: compact JSON with sorted keys, the same every time."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def alert_emit(*, org: Organization, event: str, data: dict) -> AlertDelivery | None:
    """Store an alert for `org` and deliver it once the current transaction commits.

    None when the organization has no alert webhook URL. `data` is stored as JSON (dates
    and decimals as strings), exactly as the receiver will get it.
    """
    if not org.alert_webhook_url:
        return None
    data = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    with transaction.atomic():
        alert = AlertDelivery.objects.create(
            organization=org,
            event=event,
            payload={},
            url=org.alert_webhook_url,
            next_attempt_at=timezone.now(),
        )
        alert.payload = {
            "id": alert.pk,
            "event": event,
            "organization": org.pk,
            "created_at": alert.created_at.isoformat(),
            "data": data,
        }
        AlertDelivery.objects.filter(pk=alert.pk).update(payload=alert.payload)
    _enqueue([alert.pk])
    return alert


def alert_deliver(*, alert_id: int, now: datetime | None = None) -> dict[str, int]:
    """One attempt at a pending alert that is due; returns what became of it, as a count.

    `skipped` when it is missing, no longer pending, not due, or claimed by another attempt.
    """
    now = now or timezone.now()
    alert = AlertDelivery.objects.select_related("organization").filter(pk=alert_id).first()
    if alert is None or alert.status != Status.PENDING:
        return {"skipped": 1}
    url = alert.organization.alert_webhook_url
    due = AlertDelivery.objects.filter(pk=alert.pk, status=Status.PENDING, next_attempt_at__lte=now)
    if not url:
        stopped = due.update(
            status=Status.FAILED,
            next_attempt_at=None,
            last_error="The organization has no alert webhook URL any more.",
        )
        return {"failed": stopped} if stopped else {"skipped": 1}
    attempt = alert.attempts + 1
    claimed = due.filter(attempts=alert.attempts, attempts__lt=settings.ALERT_MAX_ATTEMPTS).update(
        attempts=attempt, url=url, next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS)
    )
    if not claimed:
        return {"skipped": 1}
    error, retry_after = _post(alert, url)
    return _record(alert.pk, attempt, error, retry_after)


def alerts_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Beat: enqueue the pending alerts that are due (their task was lost, or the broker was
    down when they were written); fail those whose last attempt never recorded an answer."""
    now = now or timezone.now()
    pending = AlertDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
    gave_up = pending.filter(attempts__gte=settings.ALERT_MAX_ATTEMPTS).update(
        status=Status.FAILED,
        next_attempt_at=None,
        last_error="The last attempt recorded no answer (its worker stopped).",
    )
    due = list(pending.order_by("next_attempt_at").values_list("pk", flat=True)[:SWEEP_BATCH])
    _enqueue(due)
    return {"enqueued": len(due), "gave_up": gave_up}


def alert_settings_update(*, org: Organization, alert_webhook_url: str) -> Organization:
    """Set (or clear, with "") where the organization's alerts are POSTed."""
    Organization.objects.filter(pk=org.pk).update(alert_webhook_url=alert_webhook_url)
    org.alert_webhook_url = alert_webhook_url
    return org


def alert_secret_rotate(*, org: Organization) -> str:
    """A new signing secret for the organization's alerts; returned to be shown once.

    Attempts from now on, retries of pending alerts included, are signed with it.
    """
    secret = _new_alert_secret()
    Organization.objects.filter(pk=org.pk).update(alert_secret=secret)
    org.alert_secret = secret
    return secret


def retry_delay(attempts: int, retry_after: float | None = None) -> float:
    """Seconds before the next attempt, `attempts` having failed: full jitter over an
    exponential backoff (at least a receiver's Retry-After), never beyond the cap."""
    cap = settings.ALERT_RETRY_CAP_SECONDS
    backoff = min(cap, settings.ALERT_RETRY_BASE_SECONDS * 2 ** (attempts - 1))
    delay = random.uniform(0, backoff)
    if retry_after:
        delay = max(delay, min(retry_after, cap))
    return delay


def _post(alert: AlertDelivery, url: str) -> tuple[str, float | None]:
    """POST the alert; returns ("", None) on a 2xx, else why not and any Retry-After."""
    body = alert_body(alert.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Outbound-Event": alert.event,
        "X-Outbound-Delivery": str(alert.pk),
        "X-Outbound-Signature": alert_signature(alert.organization.alert_secret, body),
    }
    timeout = settings.ALERT_TIMEOUT_SECONDS
    try:
        with requests.post(
            url, data=body, headers=headers, timeout=timeout, allow_redirects=False, stream=True
        ) as response:
            if 200 <= response.status_code < 300:
                return "", None
            snippet = next(response.iter_content(200), b"").decode(errors="replace")
            retry_after = _seconds(response.headers.get("Retry-After"))
            return f"HTTP {response.status_code}: {snippet}".strip(), retry_after
    except requests.Timeout as exc:
        return f"No answer within {timeout:g} s: {exc}", None
    except requests.RequestException as exc:  # no connection, a bad URL, a broken answer
        return f"{type(exc).__name__}: {exc}", None


def _record(alert_id: int, attempt: int, error: str, retry_after: float | None) -> dict[str, int]:
    """Write an attempt's outcome (only while the row is still this attempt's) and enqueue
    the next attempt, if any."""
    ours = AlertDelivery.objects.filter(pk=alert_id, status=Status.PENDING, attempts=attempt)
    if not error:
        ours.update(
            status=Status.DELIVERED,
            delivered_at=timezone.now(),
            next_attempt_at=None,
            last_error="",
        )
        return {"delivered": 1}
    error = error[:ERROR_MAX_CHARS]
    if attempt >= settings.ALERT_MAX_ATTEMPTS:
        ours.update(status=Status.FAILED, next_attempt_at=None, last_error=error)
        log.warning("alert %s failed after %d attempts: %s", alert_id, attempt, error)
        return {"failed": 1}
    delay = retry_delay(attempt, retry_after)
    ours.update(next_attempt_at=timezone.now() + timedelta(seconds=delay), last_error=error)
    _enqueue([alert_id], countdown=delay)
    return {"retrying": 1}


def _seconds(value: str | None) -> float | None:
    """A Retry-After given in seconds (an HTTP date is ignored: the backoff applies)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _enqueue(alert_ids: list[int], *, countdown: float | None = None) -> None:
    """Enqueue a delivery task per alert after commit, over one broker connection. A broker
    that is down loses nothing: the rows stay pending and the sweep enqueues them later."""
    if not alert_ids:
        return
    deliver_alert = task_signature("orgs.alerts.deliver")

    def send() -> None:
        with deliver_alert.app.producer_or_acquire() as producer:
            for alert_id in alert_ids:
                deliver_alert.apply_async(
                    kwargs={"alert_id": alert_id}, countdown=countdown, producer=producer
                )

    transaction.on_commit(send, robust=True)
