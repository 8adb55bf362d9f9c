"""The baseline the SMS bench compares with: one Celery task per message, per-row ORM work.

What a home-grown sender looks like: each task loads its message, checks the suppression list
and the blocked words, takes its credit, marks it sending, sends it through the SDK's
synchronous client and saves the answer, one query at a time. The same guardrails, none of
the batching. Loaded by the bench's baseline worker only (`celery worker -I bench.naive_sms`).
"""

from celery import shared_task

QUEUE = "naive"


@shared_task(name="bench.naive_sms.send_one", acks_late=True, soft_time_limit=30, time_limit=40)
def send_one(message_id: int) -> str:
    from django.db.models import F
    from django.utils import timezone

    from messaging.models import Message
    from messaging.providers import ProviderError, get_provider
    from messaging.services import webhook_url
    from messaging.sms_text import blocked_word_find
    from orgs.models import Organization
    from prospects.models import Prospect, Suppression

    message = Message.objects.select_related("organization").get(pk=message_id)
    if message.status != Message.Status.QUEUED:
        return "done already"
    org = message.organization
    if Suppression.objects.filter(organization=org, e164=message.to).exists():
        return _fail(message, Message.FailureReason.CONTACT_BLOCKED)
    if blocked_word_find(message.body, org.blocked_words or ()):
        return _fail(message, Message.FailureReason.BLOCKED_CONTENT)
    Organization.objects.filter(pk=org.pk).update(sms_credits=F("sms_credits") - message.segments)
    message.status = Message.Status.SENDING
    message.save()
    try:
        info = get_provider().send_sms(
            to=message.to,
            from_=message.from_number,
            body=message.body,
            status_callback=webhook_url("twilio-sms-status"),
        )
    except ProviderError:
        return _fail(message, Message.FailureReason.PROVIDER_ERROR)
    message.status, message.sid, message.submitted = Message.Status.SENT, info.sid, True
    message.carrier_status, message.submitted_at = info.status, timezone.now()
    message.save()
    Prospect.objects.filter(pk=message.prospect_id).update(status=Prospect.Status.SENT)
    return "sent"


def _fail(message, reason: str) -> str:
    message.status, message.failure_reason, message.submitted = "failed", reason, False
    message.save()
    return reason
