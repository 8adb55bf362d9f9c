"""The Twilio REST routes: Calls (create, list, fetch, update, the call's Notifications) and
Messages (create, list, fetch).

A middleware does what every request shares: Basic auth (401/20003), the per-account cap on
concurrent requests (429/20429 with Retry-After), the scenario's simulated API latency, and
turning `ApiError` into Twilio's legacy error JSON.
"""

import asyncio
import base64
import json
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

from carrier_simulator import params
from carrier_simulator.calls import CallEngine
from carrier_simulator.draw import CallAsk
from carrier_simulator.formats import API_VERSION, ApiError, num_segments, sid
from carrier_simulator.messages import MessageEngine
from carrier_simulator.resources import (
    call_json,
    call_text,
    message_json,
    notification_json,
    notifications_page_json,
    page_json,
)
from carrier_simulator.runtime import Runtime
from carrier_simulator.state import CallRecord, MessageRecord, Record, newest_page

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PREFIX = f"/{API_VERSION}/Accounts/{{account}}"
RETRY_AFTER_SECONDS = "1"
FORM = "application/x-www-form-urlencoded"
MAX_FORM_FIELDS = 1000  # aiohttp refuses a form with more (413)


async def read_form(request: web.Request) -> params.Form:
    """The request's form, as `request.post()` reads it. The SDK's urlencoded UTF-8 bodies
    are split here, each field decoded once for every create that repeats it (most do);
    any other body is left to aiohttp."""
    if request.content_type != FORM or request.charset not in (None, "utf-8"):
        return await request.post()
    body = await request.read()
    if body.count(b"&") >= MAX_FORM_FIELDS:
        return await request.post()  # refused there
    return params.form(body.rstrip().decode())


def json_response(
    body: object, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return json_text_response(json.dumps(body), status, headers)


def json_text_response(
    text: str, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(text=text, status=status, content_type="application/json", headers=headers)


class TwilioApi:
    def __init__(self, rt: Runtime, calls: CallEngine, messages: MessageEngine):
        self.rt, self.calls, self.messages = rt, calls, messages
        self._auth = {
            account: "Basic " + base64.b64encode(f"{account}:{token}".encode()).decode()
            for account, token in rt.accounts.items()
        }
        self._in_flight: Counter[str] = Counter()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(f"{PREFIX}/Calls.json", self.create_call),
            web.get(f"{PREFIX}/Calls.json", self.list_calls),
            web.get(f"{PREFIX}/Calls/{{sid}}.json", self.fetch_call),
            web.post(f"{PREFIX}/Calls/{{sid}}.json", self.update_call),
            web.get(f"{PREFIX}/Calls/{{sid}}/Notifications.json", self.list_notifications),
            web.get(f"{PREFIX}/Calls/{{sid}}/Notifications/{{note}}.json", self.fetch_notification),
            web.post(f"{PREFIX}/Messages.json", self.create_message),
            web.get(f"{PREFIX}/Messages.json", self.list_messages),
            web.get(f"{PREFIX}/Messages/{{sid}}.json", self.fetch_message),
        ]

    # --- what every API request shares ---------------------------------------------------

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        account = request.match_info.get("account")
        if account is None:
            unmatched = request.match_info.http_exception
            if unmatched is not None and request.path.startswith(f"/{API_VERSION}/"):
                return self._error(_unmatched(request, unmatched.status))
            return await handler(request)
        try:
            self._authenticate(account, request)
            return await self._admitted(account, request, handler)
        except ApiError as exc:
            return self._error(exc)

    def _authenticate(self, account: str, request: web.Request) -> None:
        expected = self._auth.get(account)
        if expected is None or request.headers.get("Authorization") != expected:
            challenge = {"WWW-Authenticate": 'Basic realm="Twilio API"'}
            raise ApiError(401, 20003, "Authenticate", challenge)

    async def _admitted(
        self, account: str, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        if self._in_flight[account] >= self.rt.scenario.max_concurrent_requests:
            raise ApiError(429, 20429, "Too Many Requests", {"Retry-After": RETRY_AFTER_SECONDS})
        self._in_flight[account] += 1
        self.rt.stats.requests.up()
        try:
            low, high = self.rt.scenario.api_latency_ms
            if high > 0:
                # The request is in: like the real API, it is carried out even when the
                # client stops waiting for the answer.
                await request.read()
                await asyncio.sleep(random.uniform(low, high) / 1000.0)
            return await handler(request)
        finally:
            self._in_flight[account] -= 1
            self.rt.stats.requests.down()

    def _error(self, exc: ApiError) -> web.Response:
        self.rt.stats.reject(exc.code)
        return json_response(exc.body(), exc.status, exc.headers)

    def _list_page(
        self,
        request: web.Request,
        resource: str,
        records: dict[str, Record],
        matches: Callable[[Record], bool],
        render: Callable[[Record], dict[str, Any]],
        filter_keys: Iterable[str],
    ) -> web.Response:
        """One page of the account's `records` that `matches`, newest first, paged by
        `PageSize`, `Page` and `PageToken` (the cursor in `next_page_uri`)."""
        account, query = request.match_info["account"], request.query
        size, page, cursor = params.paging(query)
        skip = page * size if cursor is None else 0
        shown, more = newest_page(
            records, account, matches, size=size, after_index=cursor, skip=skip
        )
        filters = params.filters_for_uri(query, filter_keys)
        body = page_json(
            account, resource, shown, render, filters=filters, page=page, size=size, more=more
        )
        return json_response(body)

    # --- calls ---------------------------------------------------------------------------

    async def create_call(self, request: web.Request) -> web.Response:
        account = request.match_info["account"]
        form = await read_form(request)
        to, from_ = params.call_parties(form)
        options = params.call_options(form)
        if self.calls.queue_full(account):
            raise ApiError(400, 22005, "Call queue is full: over 24 hours of calls at this CPS")
        ask = CallAsk(
            to=to,
            from_=from_,
            timeout_s=options.timeout_s,
            time_limit_s=options.time_limit_s,
            amd_mode=options.amd_mode,
            amd_timeout_s=options.amd_timeout_s,
        )
        now = self.rt.now()
        call = CallRecord(
            sid=sid("CA"),
            account_sid=account,
            to=to,
            from_=from_,
            created=now,
            updated=now,
            options=options,
            plan=self.rt.drawer.call(ask),
        )
        wait = self.calls.queue(call)
        self.rt.store.add_call(call)
        self.rt.stats.calls.add(account=account, to=to, from_=from_)
        body = call_text(call)
        self.calls.place(call, wait)
        return json_text_response(body, 201)

    async def list_calls(self, request: web.Request) -> web.Response:
        flt = params.call_filter(request.query)
        return self._list_page(
            request, "Calls", self.rt.store.calls, flt.matches, call_json, params.CALL_FILTER_KEYS
        )

    async def fetch_call(self, request: web.Request) -> web.Response:
        return json_text_response(call_text(self._call(request)))

    async def update_call(self, request: web.Request) -> web.Response:
        """`Status` ends the call; otherwise `Twiml` or `Url` redirect it, if it is live."""
        call = self._call(request)
        form = await read_form(request)
        status = params.update_status(form)
        twiml, url = params.update_redirect(form)
        if status is not None:
            self.calls.hang_up(call, status)
        elif twiml or url:
            if call.status != "in-progress":
                raise ApiError(400, 21220, "Call is not in-progress. Cannot redirect.")
            self.calls.redirect(call, twiml=twiml, url=url)
        return json_text_response(call_text(call))

    async def list_notifications(self, request: web.Request) -> web.Response:
        """The call's log: errors (`Log=0`, e.g. 13224) and warnings (`Log=1`, e.g. 21262)."""
        call = self._call(request)
        log = params.log_level(request.query)
        size, page, _ = params.paging(request.query)
        notes = [n for n in call.notifications if log is None or n.log == log]
        level = None if log is None else str(log)
        return json_response(notifications_page_json(call, notes, log=level, page=page, size=size))

    async def fetch_notification(self, request: web.Request) -> web.Response:
        call = self._call(request)
        note = next((n for n in call.notifications if n.sid == request.match_info["note"]), None)
        if note is None:
            raise _not_found(request)
        return json_response(notification_json(call, note))

    def _call(self, request: web.Request) -> CallRecord:
        call = self.rt.store.call(request.match_info["account"], request.match_info["sid"])
        if call is None:
            raise _not_found(request)
        return call

    # --- messages ------------------------------------------------------------------------

    async def create_message(self, request: web.Request) -> web.Response:
        account = request.match_info["account"]
        form = await read_form(request)
        to, from_, service = params.message_parties(form)
        body, media = params.message_content(form)
        self._check_recipient(to, from_, service)
        status_callback = params.callback_url(form, "StatusCallback")
        validity = params.integer(form, "ValidityPeriod", 36_000, low=1, high=36_000)
        if from_ is not None and self.messages.queue_full(from_):
            raise ApiError(400, 21611, "This 'From' number has exceeded the maximum queue size")
        now = self.rt.now()
        message = MessageRecord(
            sid=sid("MM" if media else "SM"),
            account_sid=account,
            to=to,
            from_=from_,
            messaging_service_sid=service,
            body=body,
            num_media=len(media),
            num_segments=num_segments(body),
            created=now,
            updated=now,
            plan=self.rt.drawer.message(to),
            status_callback=status_callback,
            validity_s=validity,
            status="accepted" if from_ is None else "queued",
        )
        self.rt.store.add_message(message)
        self.rt.stats.messages.add(account=account, to=to, from_=message.sender)
        response = message_json(message)
        self.messages.place(message)
        return json_response(response, 201)

    def _check_recipient(self, to: str, from_: str | None, service: str | None) -> None:
        if self.rt.drawer.is_landline(to):
            raise ApiError(400, 21614, f"'To' number {to} is not a valid mobile number")
        store = self.rt.store
        if any(s and store.is_opted_out(to, s) for s in (from_, service)):
            raise ApiError(400, 21610, "Attempt to send to unsubscribed recipient")

    async def list_messages(self, request: web.Request) -> web.Response:
        """Newest first, like calls; `DateSent` filters match a message not yet sent by the
        time it was created (MessageFilter)."""
        flt = params.message_filter(request.query)
        return self._list_page(
            request,
            "Messages",
            self.rt.store.messages,
            flt.matches,
            message_json,
            params.MESSAGE_FILTER_KEYS,
        )

    async def fetch_message(self, request: web.Request) -> web.Response:
        message = self.rt.store.message(request.match_info["account"], request.match_info["sid"])
        if message is None:
            raise _not_found(request)
        return json_response(message_json(message))


def _not_found(request: web.Request) -> ApiError:
    return ApiError(404, 20404, f"The requested resource {request.path} was not found")


def _unmatched(request: web.Request, status: int) -> ApiError:
    if status == 405:
        return ApiError(405, 20004, f"Method {request.method} not allowed on {request.path}")
    return _not_found(request)
