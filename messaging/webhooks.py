"""Carrier webhooks: check the signature, store the raw event once, answer at once.

Applying events is the inbox processor's job (`messaging.inbox`), in batches on the
`webhooks` queue.

The checks (`verify`) and the answers (`stored`) are shared by three doors: the Django views
(the URLconf, the test client, and WEBHOOK_URL_MODE=request, which needs Django's view of the
host behind a proxy); `WebhookIngress` here, a WSGI wrapper that takes the carrier's form
POSTs before Django's request handling and middleware; and the ASGI door gunicorn serves
(`messaging.ingress`), which does the same on an event loop with group-committed inserts. A
delivery report is a few hundred bytes that needs none of Django's request machinery, and a
blast brings two per text.
"""

import functools
import hmac
import logging
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import parse_qsl

from django.conf import settings
from django.core import signals
from django.http import HttpResponse, HttpResponseForbidden
from django.http.request import split_domain_port, validate_host
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from messaging.models import WebhookEvent
from messaging.services import inbox_schedule_apply, inbox_store

log = logging.getLogger(__name__)

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


Answer = tuple[int, str, bytes]  # (HTTP status, content type, body)


@dataclass(frozen=True, slots=True)
class Callback:
    """A callback that passed its checks: what the inbox stores."""

    kind: str
    sid: str
    dedupe_key: str
    sequence: int
    payload: dict


def verify(kind: str, *, url: str, params, signature: str) -> Callback | Answer:
    """The signature and the identifiers: the callback to store, or the answer refusing it.
    `params` has `getlist` (a QueryDict); `url` is the URL the carrier signed."""
    if not _valid_signature(url, params, signature):
        return 403, "text/plain", b"invalid X-Twilio-Signature"
    identity = _event(kind, params)
    if identity is None:
        return 400, "text/plain", b"missing call or message identifiers"
    sid, key, sequence = identity
    return Callback(kind, sid, key, sequence, {k: params.get(k) for k in params})


def schedule_apply(*, on_commit: bool = True) -> None:
    """The inbox's apply, scheduled; a broker that cannot take it is logged, never raised: the
    periodic sweep applies the event, and the carrier must not see a failure."""
    try:
        inbox_schedule_apply(on_commit=on_commit)
    except Exception as exc:  # redis.RedisError, kombu.exceptions.OperationalError
        log.warning("inbox apply not scheduled (the sweep will apply it): %r", exc)


def answer(kind: str) -> Answer:
    """What the carrier is told once its callback is stored."""
    if kind == WebhookEvent.Kind.SMS_INBOUND:
        return 200, "text/xml", b"<Response/>"
    return 204, "", b""


def stored(kind: str) -> Answer:
    """After a callback is stored: the inbox's apply is scheduled, and the carrier answered."""
    schedule_apply()
    return answer(kind)


def receive(kind: str, *, url: str, params, signature: str) -> Answer:
    """One callback, checked, stored once and answered."""
    checked = verify(kind, url=url, params=params, signature=signature)
    if not isinstance(checked, Callback):
        return checked
    return _store(checked)


def _store(callback: Callback) -> Answer:
    c = callback
    inbox_store(
        kind=c.kind, sid=c.sid, dedupe_key=c.dedupe_key, sequence=c.sequence, payload=c.payload
    )
    return stored(c.kind)


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


class _Form(dict):
    """A parsed form body: one list of values per name, and `get` of the last one, as
    QueryDict has (what `RequestValidator` and `_event` read)."""

    def getlist(self, key: str) -> list[str]:
        return dict.get(self, key, [])

    def get(self, key: str, default=None):
        values = dict.get(self, key)
        return values[-1] if values else default


def door_kind(method: str, path: str, content_type: str, length: str) -> str | None:
    """The webhook a raw request is for, when a door takes it as it is: a form POST of a known
    length within DATA_UPLOAD_MAX_MEMORY_SIZE, under WEBHOOK_URL_MODE=public; else None."""
    if method != "POST" or settings.WEBHOOK_URL_MODE != "public":
        return None
    kind = _webhook_paths().get(path)
    if kind is None or content_type.split(";")[0].strip().lower() != _FORM:
        return None
    if not length.isdigit() or int(length) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        return None
    return kind


@functools.cache
def _webhook_paths() -> dict[str, str]:
    return {reverse(name): kind for name, kind in ROUTES.items()}


def door_verify(
    kind: str, *, host: str, path: str, query: str, body: bytes, signature: str
) -> Callback | Answer:
    """A door's checks on a raw request: the host, a UTF-8 form, then `verify` against the URL
    the carrier was given (PUBLIC_BASE_URL, the path and the query)."""
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return 400, "text/plain", b"invalid Host header"
    form = _Form()
    try:
        for name, value in parse_qsl(body.decode(), keep_blank_values=True):
            form.setdefault(name, []).append(value)
    except UnicodeDecodeError:
        return 400, "text/plain", b"the form is not UTF-8"
    url = settings.PUBLIC_BASE_URL + path + (f"?{query}" if query else "")
    return verify(kind, url=url, params=form, signature=signature)


def status_line(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase}"


class WebhookIngress:
    """WSGI: the carrier's signed form POSTs go straight to `receive`; everything else, and
    any webhook request this door does not take as it is (`door_kind`), goes to Django. It
    sends Django's request signals, so database connections are kept as for any request.
    (gunicorn serves the ASGI door, `messaging.ingress`; this one serves WSGI servers.)"""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        kind = door_kind(
            environ.get("REQUEST_METHOD", ""),
            environ.get("PATH_INFO", ""),
            environ.get("CONTENT_TYPE", ""),
            environ.get("CONTENT_LENGTH", ""),
        )
        if kind is None:
            return self.app(environ, start_response)
        status, content_type, body = self._receive(kind, environ)
        headers = [("Content-Length", str(len(body)))]
        if content_type:
            headers.append(("Content-Type", content_type))
        start_response(status_line(status), headers)
        return [body]

    def _receive(self, kind: str, environ) -> Answer:
        checked = door_verify(
            kind,
            host=environ.get("HTTP_HOST") or environ.get("SERVER_NAME", ""),
            path=environ.get("SCRIPT_NAME", "") + environ["PATH_INFO"],
            query=environ.get("QUERY_STRING", ""),
            body=environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])),
            signature=environ.get("HTTP_X_TWILIO_SIGNATURE", ""),
        )
        if not isinstance(checked, Callback):
            return checked
        signals.request_started.send(sender=self.__class__, environ=environ)
        try:
            return _store(checked)
        except Exception:
            log.exception("webhook %s failed", kind)
            return 500, "text/plain", b"server error"
        finally:
            signals.request_finished.send(sender=self.__class__)
