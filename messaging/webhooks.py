"""Carrier webhooks: check the signature, store the raw event once, answer at once.

Applying events is the inbox processor's job (`messaging.inbox`), in batches on the
`webhooks` queue.
"""

import redis
from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from messaging.models import WebhookEvent
from messaging.services import inbox_schedule_apply, inbox_store

_validator: RequestValidator | None = None


def _signed_url(request) -> str:
    if settings.WEBHOOK_URL_MODE == "request":
        return request.build_absolute_uri()
    return settings.PUBLIC_BASE_URL + request.get_full_path()


def _valid_signature(request) -> bool:
    global _validator
    if _validator is None or _validator.token != settings.TWILIO_AUTH_TOKEN.encode():
        _validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    signature = request.META.get("HTTP_X_TWILIO_SIGNATURE", "")
    return bool(signature) and _validator.validate(_signed_url(request), request.POST, signature)


def _event(kind: str, post) -> tuple[str, str, int] | None:
    """(sid, dedupe key, sequence) of a callback, or None when it lacks what identifies it."""
    if kind == WebhookEvent.Kind.VOICE_STATUS:
        sid, status = post.get("CallSid", ""), post.get("CallStatus", "")
        seq = post.get("SequenceNumber", "")
        sequence = int(seq) if seq.isdigit() else -1
        return (sid, f"vs:{sid}:{sequence}:{status}", sequence) if sid and status else None
    if kind == WebhookEvent.Kind.VOICE_AMD:
        sid = post.get("CallSid", "")
        return (sid, f"va:{sid}", 0) if sid and post.get("AnsweredBy") else None
    if kind == WebhookEvent.Kind.SMS_STATUS:
        sid = post.get("MessageSid") or post.get("SmsSid", "")
        status = post.get("MessageStatus") or post.get("SmsStatus", "")
        return (sid, f"ss:{sid}:{status}", 0) if sid and status else None
    sid = post.get("MessageSid") or post.get("SmsSid", "")
    return (sid, f"si:{sid}", 0) if sid and post.get("From") else None


def _receive(request, kind: str) -> HttpResponse:
    if not _valid_signature(request):
        return HttpResponseForbidden("invalid X-Twilio-Signature")
    identity = _event(kind, request.POST)
    if identity is None:
        return HttpResponse("missing call or message identifiers", status=400)
    sid, key, sequence = identity
    payload = {k: request.POST.get(k) for k in request.POST}
    inbox_store(kind=kind, sid=sid, dedupe_key=key, sequence=sequence, payload=payload)
    try:
        inbox_schedule_apply()
    except redis.RedisError:
        pass  # the periodic sweep applies the event; the carrier must not see a failure
    if kind == WebhookEvent.Kind.SMS_INBOUND:
        return HttpResponse("<Response/>", content_type="text/xml")
    return HttpResponse(status=204)


def _view(kind: str):
    @csrf_exempt
    @require_POST
    def view(request):
        return _receive(request, kind)

    view.__name__ = f"webhook_{kind}"
    return view


voice_status = _view(WebhookEvent.Kind.VOICE_STATUS)
voice_amd = _view(WebhookEvent.Kind.VOICE_AMD)
sms_status = _view(WebhookEvent.Kind.SMS_STATUS)
sms_inbound = _view(WebhookEvent.Kind.SMS_INBOUND)
