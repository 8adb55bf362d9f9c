"""The Twilio provider on the official SDK; TWILIO_API_BASE_URL points it at another host."""

import os
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import ProtocolError

from messaging.providers.base import CallInfo, CallRequest, MessageInfo, ProviderError


class RewritingHttpClient(TwilioHttpClient):
    """Sends every SDK request to another scheme and host, leaving the rest stock SDK code."""

    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        parts = urlsplit(base_url)
        self._scheme, self._netloc = parts.scheme, parts.netloc

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        url = urlunsplit((self._scheme, self._netloc, parts.path, parts.query, parts.fragment))
        return super().request(method, url, *args, **kwargs)


POOL_SIZE = 32  # connections kept open: one per thread placing calls concurrently


def _tune(session: requests.Session, url: str) -> None:
    """Keep a connection per concurrent request, and read the environment's proxy and CA
    settings once here rather than on every request (requests otherwise re-reads them per
    call, a large share of a call's client-side cost)."""
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=POOL_SIZE)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.proxies.update(requests.utils.get_environ_proxies(url))
    session.verify = (
        os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    )
    session.trust_env = False


def _error(exc: Exception) -> ProviderError:
    if isinstance(exc, TwilioRestException):
        return ProviderError(exc.msg, code=exc.code, http_status=exc.status)
    # No HTTP status: transient. Sent but unanswered: perhaps carried out.
    answer_lost = isinstance(exc, requests.ReadTimeout) or (
        isinstance(exc, requests.ConnectionError)
        and bool(exc.args)
        and isinstance(exc.args[0], ProtocolError)
    )
    return ProviderError(f"carrier unreachable: {exc}", maybe_done=answer_lost)


class TwilioProvider:
    def __init__(
        self, *, account_sid: str, auth_token: str, base_url: str = "", timeout: float = 10.0
    ):
        http = (
            RewritingHttpClient(base_url, timeout=timeout)
            if base_url
            else TwilioHttpClient(timeout=timeout)
        )
        _tune(http.session, base_url or "https://api.twilio.com")
        self.client = Client(account_sid, auth_token, http_client=http)

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (TwilioRestException, requests.RequestException) as exc:
            raise _error(exc) from exc

    def originate_call(self, request: CallRequest) -> CallInfo:
        params = {
            "to": request.to,
            "from_": request.from_,
            "status_callback": request.status_callback,
            "status_callback_event": ["initiated", "ringing", "answered", "completed"],
            "status_callback_method": "POST",
            "timeout": request.timeout_seconds,
        }
        if request.twiml_url:
            params["url"] = request.twiml_url
        else:
            params["twiml"] = request.twiml
        if request.time_limit_seconds:
            params["time_limit"] = request.time_limit_seconds
        if request.machine_detection:
            params.update(
                machine_detection=request.machine_detection,
                async_amd="true",
                async_amd_status_callback=request.amd_callback,
                async_amd_status_callback_method="POST",
            )
        return _call_info(self._call(self.client.calls.create, **params))

    def send_sms(self, *, to: str, from_: str, body: str, status_callback: str) -> MessageInfo:
        message = self._call(
            self.client.messages.create,
            to=to,
            from_=from_,
            body=body,
            status_callback=status_callback,
        )
        return _message_info(message)

    def fetch_call(self, sid: str) -> CallInfo:
        return _call_info(self._call(self.client.calls(sid).fetch))

    def fetch_message(self, sid: str) -> MessageInfo:
        return _message_info(self._call(self.client.messages(sid).fetch))

    def list_calls(
        self,
        *,
        to=None,
        from_=None,
        started_after: datetime | None = None,
        started_before: datetime | None = None,
    ) -> list[CallInfo]:
        params = {
            k: v
            for k, v in (
                ("to", to),
                ("from_", from_),
                ("start_time_after", started_after),
                ("start_time_before", started_before),
            )
            if v is not None
        }
        return [_call_info(c) for c in self._call(self.client.calls.list, page_size=1000, **params)]

    def hangup_call(self, sid: str) -> CallInfo:
        return _call_info(self._call(self.client.calls(sid).update, status="completed"))

    def update_call_twiml(self, sid: str, twiml: str) -> CallInfo:
        return _call_info(self._call(self.client.calls(sid).update, twiml=twiml))


def _call_info(call) -> CallInfo:
    return CallInfo(
        sid=call.sid,
        status=call.status,
        to=call.to or "",
        from_=call._from or "",
        start_time=call.start_time,
        end_time=call.end_time,
        duration=int(call.duration) if call.duration not in (None, "") else None,
        answered_by=call.answered_by,
    )


def _message_info(message) -> MessageInfo:
    segments = message.num_segments
    return MessageInfo(
        sid=message.sid,
        status=message.status,
        num_segments=int(segments) if segments not in (None, "") else None,
        error_code=message.error_code,
    )
