"""One-off calls: POST /api/v1/calls/ places one call now, on the `api` channel pool, with the
guardrails of a campaign's calls.

In one short transaction: the recipient's suppression and calling window, then, holding the
slot lock the dispatch tick also takes (`campaigns.voice.dispatch.slots_lock`), the idempotency key,
the capacity (the api pool, the org's concurrency limit, the global limit), the caller ID
(the one named, or chosen as for a campaign's calls) and the `originating` attempt row. A
guardrail refuses by raising before anything is written, so a refusal changes nothing. Then,
outside any transaction, the carrier is asked and its answer stored like a campaign call's
(`campaigns.voice.attempts.attempt_record`); the callbacks settle the outcome
(`campaigns.voice.outcomes.attempts_settle`).
"""

import math
from datetime import datetime
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from campaigns.models import CallAttempt
from campaigns.voice.attempts import attempt_record, call_request, carrier_ask
from campaigns.voice.dispatch import active_calls_by_org, slots_lock
from config.errors import DomainError
from config.events import event_emit
from dids.models import Did
from dids.selection import did_select_for_call
from messaging.providers import ProviderError
from orgs.models import Organization
from prospects import windows
from prospects.models import Suppression

# A full pool or limit frees up as calls end, which takes a while: come back in this long.
RETRY_AFTER_SECONDS = 5


class CallRefused(DomainError):
    """A guardrail refused the call before anything was written (HTTP 422; 429 when full)."""

    status_code = HTTPStatus.UNPROCESSABLE_ENTITY


class CallNotPlaced(DomainError):
    """The carrier refused the call, whose attempt is now finished `rejected`: HTTP 422 when
    the refusal is about the number (invalid, unreachable, opted out), else 502. When the
    carrier's answer was lost the call may be live: 502 `carrier_unconfirmed`, the attempt
    stays `originating` until reconciliation finds the call at the carrier (or not)."""

    def __init__(self, attempt: CallAttempt, error: ProviderError):
        self.attempt = attempt
        self.error = error
        extra = {"carrier_code": error.code}
        if error.maybe_done:
            super().__init__(
                f"The carrier did not answer; the call is looked up later: {error.public_message}",
                code="carrier_unconfirmed",
                status_code=HTTPStatus.BAD_GATEWAY,
                extra=extra,
            )
        elif error.permanent_for_number or error.opted_out:
            super().__init__(
                f"The carrier refused to call this number: {error.public_message}",
                code="carrier_rejected",
                status_code=HTTPStatus.UNPROCESSABLE_ENTITY,
                extra=extra,
            )
        else:
            super().__init__(
                f"The carrier did not place the call: {error.public_message}",
                code="carrier_error",
                status_code=HTTPStatus.BAD_GATEWAY,
                extra=extra,
                retry_after=math.ceil(error.retry_after) if error.retry_after else None,
            )


def call_place(
    *,
    org: Organization,
    to: str,
    caller_id: str = "",
    twiml_url: str = "",
    twiml: str = "",
    calling_policy: str = "federal",
    recipient_timezone: str = "",
    idempotency_key: str = "",
    now: datetime | None = None,
) -> tuple[CallAttempt, bool]:
    """Place a one-off call to `to` (E.164) now; returns (attempt, created).

    `caller_id` (E.164) must be one of the org's active voice caller IDs; empty, one is chosen
    as for a campaign's calls. `created` is False when `idempotency_key` names an earlier
    request's call, which is returned as it is now. Raises ValidationError for a caller ID
    that is not the org's, CallRefused for a guardrail, CallNotPlaced for a carrier refusal.
    """
    now = now or timezone.now()
    if idempotency_key and (earlier := _earlier(org, idempotency_key, to)):
        return earlier, False
    if caller_id and not _is_voice_caller_id(org, caller_id):
        raise ValidationError(
            {"caller_id": [f"{caller_id} is not an active voice caller ID of this organization."]}
        )
    with transaction.atomic():
        _recipient_check(org, to, calling_policy, recipient_timezone, now)
        slots_lock()
        # A concurrent retry of the same request may have placed it while we waited.
        if idempotency_key and (earlier := _earlier(org, idempotency_key, to)):
            return earlier, False
        _capacity_check(org)
        did = did_select_for_call(
            org_id=org.id, to=to, caller_id_filter={}, now=now, e164=caller_id
        )
        if did is None:
            raise CallRefused(
                f"Caller ID {caller_id} is not healthy enough to call from."
                if caller_id
                else "The organization has no healthy caller ID to call from.",
                code="no_healthy_caller_id",
            )
        attempt = CallAttempt.objects.create(
            organization=org,
            pool=CallAttempt.Pool.API,
            to=to,
            did_id=did.id,
            from_number=did.e164,
            machine_detection="Enable",
            idempotency_key=idempotency_key,
            created_at=now,
        )
        event_emit("call.initiated", org_id=org.id, call=attempt.pk, to=to, caller_id=did.e164)
    request = call_request(
        to=to,
        from_=did.e164,
        twiml=twiml,
        twiml_url=twiml_url,
        machine_detection=attempt.machine_detection,
    )
    answer = carrier_ask(request)
    attempt_record(attempt, answer)
    attempt.refresh_from_db()
    if isinstance(answer, ProviderError):
        if not answer.maybe_done:
            event_emit(
                "call.rejected", org_id=org.id, call=attempt.pk, to=to, error_code=answer.code
            )
        raise CallNotPlaced(attempt, answer)
    return attempt, True


def _earlier(org: Organization, key: str, to: str) -> CallAttempt | None:
    earlier = CallAttempt.objects.one_off().for_org(org).filter(idempotency_key=key).first()
    if earlier is not None and earlier.to != to:
        raise CallRefused(
            f"This idempotency key was used for a call to {earlier.to}.",
            code="idempotency_key_reused",
        )
    return earlier


def _is_voice_caller_id(org: Organization, e164: str) -> bool:
    return Did.objects.for_org(org).in_rotation().filter(e164=e164, voice_enabled=True).exists()


def _recipient_check(
    org: Organization, to: str, policy: str, recipient_timezone: str, now: datetime
) -> None:
    if Suppression.objects.for_org(org).filter(e164=to).exists():
        raise CallRefused(f"{to} is on the organization's suppression list.", code="suppressed")
    verdict = windows.check(to, now, channel="voice", policy=policy, explicit_tz=recipient_timezone)
    if not verdict.allowed:
        raise CallRefused(
            f"{to} may not be called now: {verdict.reason}.",
            code="outside_calling_window",
            extra={"next_allowed_at": verdict.next_allowed_at, "reason": verdict.reason},
        )


def _capacity_check(org: Organization) -> None:
    """Room on the api pool, within the org's limit and the global one (under slots_lock)."""
    active = active_calls_by_org()
    if active.get(org.id, 0) >= org.concurrency_limit:
        _full("org_concurrency_limit", f"The organization's {org.concurrency_limit} calls")
    if CallAttempt.objects.one_off().active().count() >= settings.DIALER_CHANNEL_POOLS["api"]:
        _full("api_pool_full", f"The api pool's {settings.DIALER_CHANNEL_POOLS['api']} calls")
    if sum(active.values()) >= settings.DIALER_GLOBAL_CONCURRENCY:
        _full("global_concurrency_limit", f"All {settings.DIALER_GLOBAL_CONCURRENCY} lines")


def _full(code: str, what: str) -> None:
    raise CallRefused(
        f"{what} are in use; try again later.",
        code=code,
        status_code=HTTPStatus.TOO_MANY_REQUESTS,
        retry_after=RETRY_AFTER_SECONDS,
    )
