"""Delivering signed webhooks: per-resource lanes, a bound on requests in flight, retries.

Each call or message has a lane: its callbacks go out one after another in the order they
were submitted, so a receiver sees them in lifecycle order unless the scenario shuffles them.
Lanes run concurrently; at most `max_in_flight` requests are open at once. Any 2xx is a
delivery (contract §7.7). Like Twilio's status callbacks, anything else is not retried by
default: it is counted failed, after `callback_retries` retries with doubling backoff if set.
"""

import asyncio
import logging
import random
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp
from twilio.request_validator import RequestValidator
from yarl import URL

from carrier_simulator.scenario import Scenario
from carrier_simulator.stats import Stats

log = logging.getLogger(__name__)

FORM = "application/x-www-form-urlencoded"
USER_AGENT = "TwilioProxy/1.1"


@dataclass(frozen=True, slots=True)
class Callback:
    kind: str  # call-status | amd | sms-status | sms-inbound
    url: str  # exactly as requested (GET: with the params appended)
    method: str  # POST | GET
    body: bytes  # form-encoded params (empty for GET)
    signature: str
    token: str  # I-Twilio-Idempotency-Token: the same for a repeated delivery


class Signer:
    """Builds signed callbacks; one `RequestValidator` per auth token."""

    def __init__(self) -> None:
        self._validators: dict[str, RequestValidator] = {}
        self._counter = 0

    def build(
        self, *, kind: str, url: str, method: str, params: dict[str, str], auth_token: str
    ) -> Callback:
        validator = self._validators.get(auth_token)
        if validator is None:
            validator = self._validators[auth_token] = RequestValidator(auth_token)
        self._counter += 1
        token = f"sim-{self._counter}"
        if method == "GET":
            full = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
            return Callback(kind, full, "GET", b"", validator.compute_signature(full, {}), token)
        signature = validator.compute_signature(url, params)
        return Callback(kind, url, "POST", urlencode(params).encode(), signature, token)


class Dispatcher:
    def __init__(
        self,
        *,
        stats: Stats,
        scenario: Callable[[], Scenario],
        max_in_flight: int = 256,
        timeout_s: float = 10.0,
    ):
        self._stats = stats
        self._scenario = scenario
        self._max_in_flight = max_in_flight
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._slots = asyncio.Semaphore(max_in_flight)
        self._lanes: dict[str, deque[Callback]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=self._max_in_flight, limit_per_host=0)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=self._timeout, cookie_jar=aiohttp.DummyCookieJar()
        )

    async def close(self) -> None:
        await self.reset()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def reset(self) -> None:
        """Drop every queued and in-flight delivery."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._lanes.clear()

    @property
    def pending(self) -> int:
        return sum(len(lane) for lane in self._lanes.values()) + len(self._tasks)

    def submit(self, lane: str, callbacks: Iterable[Callback]) -> None:
        """Queue callbacks behind whatever the lane already holds."""
        queue = self._lanes.get(lane)
        if queue is not None:
            queue.extend(callbacks)
            return
        self._lanes[lane] = deque(callbacks)
        task = asyncio.get_running_loop().create_task(self._drain(lane))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, lane: str) -> None:
        queue = self._lanes[lane]
        try:
            while queue:
                await self._deliver(queue.popleft())
        finally:
            if self._lanes.get(lane) is queue:
                del self._lanes[lane]

    async def _deliver(self, callback: Callback) -> None:
        scenario = self._scenario()
        low, high = scenario.callback_delay_ms
        if high > 0:
            await asyncio.sleep(random.uniform(low, high) / 1000.0)
        for attempt in range(scenario.callback_retries + 1):
            if attempt:
                self._stats.callbacks_retried += 1
                await asyncio.sleep(scenario.callback_retry_backoff_ms * 2 ** (attempt - 1) / 1e3)
            if await self._attempt(callback):
                self._stats.callbacks_sent += 1
                self._stats.callbacks_by_kind[callback.kind] += 1
                return
        self._stats.callbacks_failed += 1
        log.warning("callback to %s failed after %d attempts", callback.url, attempt + 1)

    async def _attempt(self, callback: Callback) -> bool:
        assert self._session is not None, "Dispatcher.start() was not awaited"
        headers = {
            "X-Twilio-Signature": callback.signature,
            "I-Twilio-Idempotency-Token": callback.token,
            "User-Agent": USER_AGENT,
        }
        if callback.method == "POST":
            headers["Content-Type"] = FORM
        async with self._slots:
            try:
                async with self._session.request(
                    callback.method,
                    URL(callback.url, encoded=True),
                    data=callback.body or None,
                    headers=headers,
                ) as response:
                    await response.read()
                    return 200 <= response.status < 300
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                log.debug("callback to %s: %s", callback.url, exc)
                return False
