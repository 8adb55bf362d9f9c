"""The Twilio provider on the official SDK; TWILIO_API_BASE_URL points it at another host.

Single requests use the SDK's synchronous client. A batch of calls uses the SDK's async client
(`create_async`) on one aiohttp session, driven by an event loop on a thread of this process:
a request costs a third of the CPU it costs through requests and threads.
"""

import asyncio
import functools
import json
import logging
import os
import threading
import urllib.request
import weakref
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import quote_plus, urlsplit, urlunsplit

import aiohttp
import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import AsyncHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from urllib3.exceptions import ProtocolError

from messaging.providers.base import (
    CallInfo,
    CallRequest,
    MessageInfo,
    MessageRequest,
    ProviderError,
)


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


POOL_SIZE = 32  # connections kept open, and requests of a batch in flight at once
T = TypeVar("T")
R = TypeVar("R")


class AsyncSessionClient(AsyncHttpClient):
    """The SDK's async transport on one aiohttp session (created on the process's carrier
    loop); with `base_url`, every request goes to that scheme and host instead."""

    def __init__(self, base_url: str, timeout: float):
        super().__init__(logging.getLogger("twilio.async_http_client"), True, timeout)
        self._base = urlsplit(base_url) if base_url else None
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=POOL_SIZE),
            timeout=aiohttp.ClientTimeout(total=timeout),
            trust_env=bool(urllib.request.getproxies()),
        )

    async def request(
        self, method, url, params=None, data=None, headers=None, auth=None, **_options
    ) -> Response:
        if self._base is not None:
            parts = urlsplit(url)
            url = urlunsplit((self._base.scheme, self._base.netloc, parts.path, parts.query, ""))
        headers = dict(headers or {})
        if auth is not None:
            headers["Authorization"] = _basic_auth(*auth)
        body = None
        if data is not None:
            # Encoded here, field by field from a cache: most fields repeat from call to
            # call, and aiohttp's FormData costs more than the rest of the request.
            body = _form(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if params:
            url = f"{url}?{_form(params)}"
        async with self.session.request(
            method.upper(), url, data=body, headers=headers, allow_redirects=False
        ) as response:
            return Response(response.status, await response.text(), response.headers)


def _form(values: dict) -> str:
    """Form fields urlencoded as the SDK's synchronous transport sends them (a list value
    becomes repeated fields)."""
    return "&".join(
        _field(key, str(v))
        for key, value in values.items()
        for v in (value if isinstance(value, list | tuple) else [value])
    )


@functools.lru_cache(maxsize=4096)
def _field(key: str, value: str) -> str:
    return f"{quote_plus(key)}={quote_plus(value)}"


@functools.lru_cache(maxsize=16)
def _basic_auth(user: str, password: str) -> str:
    return aiohttp.encode_basic_auth(user, password)


_loop: tuple[int, asyncio.AbstractEventLoop] | None = None
_loop_lock = threading.Lock()


def _carrier_loop() -> asyncio.AbstractEventLoop:
    """This process's event loop for carrier requests, on a daemon thread; a forked child (a
    prefork worker) starts its own."""
    global _loop
    with _loop_lock:
        if _loop is None or _loop[0] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="carrier", daemon=True).start()
            _loop = (os.getpid(), loop)
        return _loop[1]


def _run(coroutine):
    return asyncio.run_coroutine_threadsafe(coroutine, _carrier_loop()).result()


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
    if isinstance(exc, TwilioException):
        return _page_error(exc)
    # No HTTP status: transient. Sent but unanswered: perhaps carried out.
    answer_lost = isinstance(exc, requests.ReadTimeout) or (
        isinstance(exc, requests.ConnectionError)
        and bool(exc.args)
        and isinstance(exc.args[0], ProtocolError)
    )
    answer_lost = answer_lost or (
        isinstance(exc, asyncio.TimeoutError | aiohttp.ServerDisconnectedError)
        and not isinstance(exc, aiohttp.ConnectionTimeoutError)
    )
    return ProviderError(f"carrier unreachable: {exc!r}", maybe_done=answer_lost)


def _page_error(exc: TwilioException) -> ProviderError:
    """A list page the carrier refused: there the SDK raises a bare TwilioException holding
    the response, not the TwilioRestException of a create or fetch. Its code is the body's,
    or the HTTP status when the body has none, as TwilioRestException's is."""
    response = exc.args[1] if len(exc.args) > 1 else None
    if not isinstance(response, Response):
        return ProviderError(f"carrier answer unreadable: {exc!r}")
    try:
        body = json.loads(response.text)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    return ProviderError(
        f"{exc.args[0]}: {body.get('message', response.text)}",
        code=body.get("code", response.status_code),
        http_status=response.status_code,
    )


def _batch(send: Callable[[T], Awaitable[R]], items: Sequence[T]) -> list[R | ProviderError]:
    """`send(item)` for every item on the carrier loop, POOL_SIZE in flight: each answer, or
    the refusal or failure as a ProviderError, in the items' order."""

    async def send_all() -> list[R | ProviderError]:
        # Requests wait for a slot here, not inside aiohttp, whose timeout would run while
        # they wait for a connection.
        slots = asyncio.Semaphore(POOL_SIZE) if len(items) > POOL_SIZE else None

        async def answer(item: T) -> R | ProviderError:
            if slots is None:
                return await _answer(item)
            async with slots:
                return await _answer(item)

        async def _answer(item: T) -> R | ProviderError:
            try:
                return await send(item)
            except (TwilioRestException, aiohttp.ClientError, TimeoutError) as exc:
                return _error(exc)

        return await asyncio.gather(*(answer(item) for item in items))

    return _run(send_all())


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
        self._async_args = (account_sid, auth_token, base_url, timeout)
        self._async: tuple[int, Client] | None = None

    def _async_client(self) -> Client:
        if self._async is None or self._async[0] != os.getpid():
            account_sid, auth_token, base_url, timeout = self._async_args

            async def make() -> AsyncSessionClient:
                return AsyncSessionClient(base_url, timeout)

            http = _run(make())
            weakref.finalize(self, _close_later, http.session, _carrier_loop())
            self._async = (os.getpid(), Client(account_sid, auth_token, http_client=http))
        return self._async[1]

    def originate_calls(self, requests_: list[CallRequest]) -> list[CallInfo | ProviderError]:
        """Place many calls at once, POOL_SIZE in flight: each call's answer or refusal, in
        the order asked."""
        calls = self._async_client().calls

        async def place(request: CallRequest) -> CallInfo:
            return _call_info(await calls.create_async(**_call_params(request)))

        return _batch(place, requests_)

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (TwilioException, requests.RequestException) as exc:
            raise _error(exc) from exc

    def originate_call(self, request: CallRequest) -> CallInfo:
        return _call_info(self._call(self.client.calls.create, **_call_params(request)))

    def send_sms(self, *, to: str, from_: str, body: str, status_callback: str) -> MessageInfo:
        request = MessageRequest(to=to, from_=from_, body=body, status_callback=status_callback)
        return _message_info(self._call(self.client.messages.create, **_message_params(request)))

    def send_messages(self, requests_: list[MessageRequest]) -> list[MessageInfo | ProviderError]:
        """Send many texts at once, POOL_SIZE in flight: each text's answer or refusal (21211,
        21610, 21611, 21614, ...), in the order asked."""
        messages = self._async_client().messages

        async def send(request: MessageRequest) -> MessageInfo:
            return _message_info(await messages.create_async(**_message_params(request)))

        return _batch(send, requests_)

    def fetch_call(self, sid: str) -> CallInfo:
        return _call_info(self._call(self.client.calls(sid).fetch))

    def fetch_message(self, sid: str) -> MessageInfo:
        return _message_info(self._call(self.client.messages(sid).fetch))

    def fetch_messages(self, sids: list[str]) -> list[MessageInfo | ProviderError]:
        """Many texts by sid, POOL_SIZE in flight, in the order asked."""
        messages = self._async_client().messages

        async def fetch(sid: str) -> MessageInfo:
            return _message_info(await messages(sid).fetch_async())

        return _batch(fetch, sids)

    def list_calls(
        self,
        *,
        to=None,
        from_=None,
        started_after: datetime | None = None,
        started_before: datetime | None = None,
    ) -> list[CallInfo]:
        params = _filters(
            to=to, from_=from_, start_time_after=started_after, start_time_before=started_before
        )
        return [_call_info(c) for c in self._call(self.client.calls.list, page_size=1000, **params)]

    def list_messages(
        self,
        *,
        to: str | None = None,
        from_: str | None = None,
        sent_after: datetime | None = None,
        sent_before: datetime | None = None,
    ) -> list[MessageInfo]:
        params = _filters(
            to=to, from_=from_, date_sent_after=sent_after, date_sent_before=sent_before
        )
        listed = self._call(self.client.messages.list, page_size=1000, **params)
        return [_message_info(m) for m in listed]

    def hangup_call(self, sid: str) -> CallInfo:
        return _call_info(self._call(self.client.calls(sid).update, status="completed"))

    def update_call_twiml(self, sid: str, twiml: str) -> CallInfo:
        return _call_info(self._call(self.client.calls(sid).update, twiml=twiml))


def _call_params(request: CallRequest) -> dict:
    """The SDK's arguments for a call: status callbacks, TwiML, async AMD."""
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
    return params


def _filters(**values: str | datetime | None) -> dict[str, str | datetime]:
    """A list's SDK filters, the unset ones left out. The SDK writes a datetime's clock time
    followed by Z without converting it, so aware datetimes are given to it in UTC (a naive
    one is taken to be UTC already)."""
    return {
        key: value.astimezone(UTC) if isinstance(value, datetime) and value.tzinfo else value
        for key, value in values.items()
        if value is not None
    }


def _message_params(request: MessageRequest) -> dict:
    """The SDK's arguments for a text."""
    params = {
        "to": request.to,
        "from_": request.from_,
        "body": request.body,
        "status_callback": request.status_callback,
    }
    if request.validity_period is not None:
        params["validity_period"] = request.validity_period
    return params


def _close_later(session: aiohttp.ClientSession, loop: asyncio.AbstractEventLoop) -> None:
    if not loop.is_closed():
        loop.call_soon_threadsafe(lambda: loop.create_task(session.close()))


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
        to=message.to or "",
        from_=message.from_ or "",
        date_created=message.date_created,
        date_sent=message.date_sent,
    )
