"""Carrier webhooks: check the signature, store the raw event once, answer at once.

Applying events is the inbox processor's job (`messaging.inbox`), in batches on the
`webhooks` queue.

Two doors lead to the same `receive`: the Django views (the URLconf, the test client, and
WEBHOOK_URL_MODE=request, which needs Django's view of the host behind a proxy) and
`WebhookIngress`, the WSGI application production serves, which answers the carrier's form
POSTs before Django's request handling and middleware. A delivery report is a few hundred
bytes that needs none of them, and a blast brings two per text.
"""

import hmac
import logging
from urllib.parse import parse_qsl

import redis
from django.conf import settings
from django.core import signals
from django.http import HttpResponse, HttpResponseForbidden
from django.http.request import split_domain_port, validate_host
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


def _valid_signature(url: str, params, signature: str) -> bool:
    """The carrier's signature over `url` and the form. The URL as given is checked first;
    the validator's own check (the URL with and without its port) only when that fails."""
    global _validator
    if _validator is None or _validator.token != settings.TWILIO_AUTH_TOKEN.encode():
        _validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    if not signature:
        return False
    if hmac.compare_digest(_validator.compute_signature(url, params), signature):
        return True
    return _validator.validate(url, params, signature)


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


def receive(kind: str, *, url: str, params, signature: str) -> tuple[int, str, bytes]:
    """One callback: (HTTP status, content type, body). `params` has `getlist` (a QueryDict);
    `url` is the URL the carrier signed."""
    if not _valid_signature(url, params, signature):
        return 403, "text/plain", b"invalid X-Twilio-Signature"
    identity = _event(kind, params)
    if identity is None:
        return 400, "text/plain", b"missing call or message identifiers"
    sid, key, sequence = identity
    payload = {k: params.get(k) for k in params}
    inbox_store(kind=kind, sid=sid, dedupe_key=key, sequence=sequence, payload=payload)
    try:
        inbox_schedule_apply()
    except redis.RedisError:
        pass  # the periodic sweep applies the event; the carrier must not see a failure
    if kind == WebhookEvent.Kind.SMS_INBOUND:
        return 200, "text/xml", b"<Response/>"
    return 204, "", b""


def _view(kind: str):
    @csrf_exempt
    @require_POST
    def view(request):
        status, content_type, body = receive(
            kind,
            url=_signed_url(request),
            params=request.POST,
            signature=request.META.get("HTTP_X_TWILIO_SIGNATURE", ""),
        )
        if status == 403:
            return HttpResponseForbidden(body)
        return HttpResponse(body, status=status, content_type=content_type or None)

    view.__name__ = f"webhook_{kind}"
    return view


voice_status = _view(WebhookEvent.Kind.VOICE_STATUS)
voice_amd = _view(WebhookEvent.Kind.VOICE_AMD)
sms_status = _view(WebhookEvent.Kind.SMS_STATUS)
sms_inbound = _view(WebhookEvent.Kind.SMS_INBOUND)


ROUTES = {
    "twilio-voice-status": WebhookEvent.Kind.VOICE_STATUS,
    "twilio-voice-amd": WebhookEvent.Kind.VOICE_AMD,
    "twilio-sms-status": WebhookEvent.Kind.SMS_STATUS,
    "twilio-sms-inbound": WebhookEvent.Kind.SMS_INBOUND,
}
_FORM = "application/x-www-form-urlencoded"
_REASONS = {200: "200 OK", 204: "204 No Content", 400: "400 Bad Request", 403: "403 Forbidden"}
log = logging.getLogger(__name__)


class _Form(dict):
    """A parsed form body: one list of values per name, and `get` of the last one, as
    QueryDict has (what `RequestValidator` and `_event` read)."""

    def getlist(self, key: str) -> list[str]:
        return dict.get(self, key, [])

    def get(self, key: str, default=None):
        values = dict.get(self, key)
        return values[-1] if values else default


class WebhookIngress:
    """WSGI: the carrier's signed form POSTs go straight to `receive`; everything else, and
    any webhook request this door does not take as it is (another method or content type,
    no length, a body over DATA_UPLOAD_MAX_MEMORY_SIZE, WEBHOOK_URL_MODE=request), goes to
    Django. It sends Django's request signals, so database connections are kept as for
    any request."""

    def __init__(self, app):
        self.app = app
        self._paths: dict[str, str] | None = None

    def _kind(self, environ) -> str | None:
        if self._paths is None:
            from django.urls import reverse

            self._paths = {reverse(name): kind for name, kind in ROUTES.items()}
        return self._paths.get(environ.get("PATH_INFO", ""))

    def __call__(self, environ, start_response):
        if (
            environ.get("REQUEST_METHOD") != "POST"
            or settings.WEBHOOK_URL_MODE != "public"
            or (kind := self._kind(environ)) is None
            or environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower() != _FORM
            or not environ.get("CONTENT_LENGTH", "").isdigit()
            or int(environ["CONTENT_LENGTH"]) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        ):
            return self.app(environ, start_response)
        status, content_type, body = self._receive(kind, environ)
        headers = [("Content-Length", str(len(body)))]
        if content_type:
            headers.append(("Content-Type", content_type))
        start_response(_REASONS.get(status, f"{status} Error"), headers)
        return [body]

    def _receive(self, kind: str, environ) -> tuple[int, str, bytes]:
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
        domain, _port = split_domain_port(host)
        if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
            return 400, "text/plain", b"invalid Host header"
        raw = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        form = _Form()
        try:
            for name, value in parse_qsl(raw.decode(), keep_blank_values=True):
                form.setdefault(name, []).append(value)
        except UnicodeDecodeError:
            return 400, "text/plain", b"the form is not UTF-8"
        path = environ.get("SCRIPT_NAME", "") + environ["PATH_INFO"]
        query = environ.get("QUERY_STRING", "")
        url = settings.PUBLIC_BASE_URL + path + (f"?{query}" if query else "")
        signals.request_started.send(sender=self.__class__, environ=environ)
        try:
            return receive(
                kind, url=url, params=form, signature=environ.get("HTTP_X_TWILIO_SIGNATURE", "")
            )
        except Exception:
            log.exception("webhook %s failed", kind)
            return 500, "text/plain", b"server error"
        finally:
            signals.request_finished.send(sender=self.__class__)
