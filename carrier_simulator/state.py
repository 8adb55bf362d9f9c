"""What the carrier remembers: calls (with their call log) and messages by sid, opted-out
pairs, auto-replies, the TwiML that live calls were updated with."""

import asyncio
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from carrier_simulator.callbacks import Callback
from carrier_simulator.draw import CallPlan, MessagePlan

MAX_RECORDS = 200_000  # per kind; the oldest are forgotten first (fetch then answers 20404)
MAX_REPLIES = 1_000
MAX_TWIML_UPDATES = 1_000


@dataclass(frozen=True, slots=True)
class CallOptions:
    """A call's create parameters with Twilio's defaults applied."""

    status_callback: str | None = None
    status_callback_method: str = "POST"
    events: frozenset[str] = frozenset({"completed"})
    amd_mode: str | None = None
    async_amd: bool = False
    amd_callback: str | None = None
    amd_callback_method: str = "POST"
    amd_timeout_s: int = 30
    timeout_s: int = 60
    time_limit_s: int = 14_400
    record: bool = False


@dataclass(frozen=True, slots=True)
class Notification:
    """An entry of a call's log (Twilio's Call Notification resource): an error or a warning."""

    sid: str
    error_code: int
    log: int  # 0 error, 1 warning
    text: str
    created: float


@dataclass(slots=True, eq=False)
class CallRecord:
    sid: str
    account_sid: str
    to: str
    from_: str
    created: float
    options: CallOptions
    plan: CallPlan
    index: int = 0
    queue_time_ms: int = 0
    status: str = "queued"
    updated: float = 0.0
    start_time: float | None = None
    answered_at: float | None = None
    end_time: float | None = None
    duration: int | None = None
    answered_by: str | None = None
    talk_s: float | None = None  # answered seconds once an update replaced its TwiML
    sequence: int = 0  # callbacks emitted so far: the next SequenceNumber
    timer: asyncio.TimerHandle | None = None
    held: list[Callback] = field(default_factory=list)  # out_of_order: sent at the end
    notifications: list[Notification] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class MessageRecord:
    sid: str
    account_sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    num_media: int
    num_segments: int
    created: float
    plan: MessagePlan
    status_callback: str | None
    validity_s: int
    index: int = 0
    status: str = "queued"
    updated: float = 0.0
    date_sent: float | None = None
    error_code: int | None = None
    timer: asyncio.TimerHandle | None = None
    held: list[Callback] = field(default_factory=list)

    @property
    def sender(self) -> str:
        """The opt-out and throughput key: the From number, or the Messaging Service."""
        return self.from_ or self.messaging_service_sid or ""


@dataclass(frozen=True, slots=True)
class TimeBound:
    """A list filter on a Unix time: on a UTC day, at or after, strictly before."""

    day_start: float | None = None
    at_or_after: float | None = None
    before: float | None = None

    def active(self) -> bool:
        return not (self.day_start is None and self.at_or_after is None and self.before is None)

    def matches(self, ts: float | None) -> bool:
        if ts is None:
            return False
        if self.day_start is not None and not self.day_start <= ts < self.day_start + 86_400:
            return False
        if self.at_or_after is not None and ts < self.at_or_after:
            return False
        return self.before is None or ts < self.before


@dataclass(frozen=True, slots=True)
class CallFilter:
    to: str | None = None
    from_: str | None = None
    status: str | None = None
    parent_call_sid: str | None = None
    start: TimeBound = TimeBound()
    end: TimeBound = TimeBound()

    def matches(self, call: CallRecord) -> bool:
        if self.to is not None and call.to != self.to:
            return False
        if self.from_ is not None and call.from_ != self.from_:
            return False
        if self.status is not None and call.status != self.status:
            return False
        if self.parent_call_sid is not None:
            return False  # no simulated call has a parent
        if self.start.active() and not self.start.matches(call.start_time):
            return False
        return not self.end.active() or self.end.matches(call.end_time)


@dataclass(frozen=True, slots=True)
class MessageFilter:
    """The Messages list's filters. `sent` bounds the time the message was sent or, until it
    is, created: the resource shows no `date_sent` before sending (contract §2.2), yet a
    message queued at the carrier exists and a lookup by time has to find it."""

    to: str | None = None
    from_: str | None = None
    sent: TimeBound = TimeBound()

    def matches(self, message: MessageRecord) -> bool:
        return (
            self.to in (None, message.to)
            and self.from_ in (None, message.from_)
            and (not self.sent.active() or self.sent.matches(message.date_sent or message.created))
        )


Record = TypeVar("Record", CallRecord, MessageRecord)


class Store:
    def __init__(self, max_records: int = MAX_RECORDS):
        self.max_records = max_records
        self.calls: dict[str, CallRecord] = {}
        self.messages: dict[str, MessageRecord] = {}
        self.opt_outs: set[tuple[str, str]] = set()  # (recipient, sender)
        self.replies: deque[dict[str, Any]] = deque(maxlen=MAX_REPLIES)
        self.twiml_updates: deque[dict[str, Any]] = deque(maxlen=MAX_TWIML_UPDATES)
        self._index = 0

    def _next_index(self) -> int:
        self._index += 1
        return self._index

    def add_call(self, call: CallRecord) -> None:
        call.index = self._next_index()
        self.calls[call.sid] = call
        if len(self.calls) > self.max_records:
            del self.calls[next(iter(self.calls))]

    def add_message(self, message: MessageRecord) -> None:
        message.index = self._next_index()
        self.messages[message.sid] = message
        if len(self.messages) > self.max_records:
            del self.messages[next(iter(self.messages))]

    def call(self, account_sid: str, sid: str) -> CallRecord | None:
        call = self.calls.get(sid)
        return call if call is not None and call.account_sid == account_sid else None

    def message(self, account_sid: str, sid: str) -> MessageRecord | None:
        message = self.messages.get(sid)
        return message if message is not None and message.account_sid == account_sid else None

    def opt_out(self, recipient: str, sender: str) -> None:
        self.opt_outs.add((recipient, sender))

    def opt_in(self, recipient: str, sender: str) -> None:
        self.opt_outs.discard((recipient, sender))

    def is_opted_out(self, recipient: str, sender: str) -> bool:
        return (recipient, sender) in self.opt_outs


def newest_page(
    records: dict[str, Record],
    account_sid: str,
    matches: Callable[[Record], bool],
    *,
    size: int,
    after_index: int | None,
    skip: int,
) -> tuple[list[Record], bool]:
    """A list page, newest first: the account's records that `matches` accepts, after skipping
    `skip` of them (Page) and those at or after `after_index` (a PageToken's cursor); returns
    (page, more)."""
    page: list[Record] = []
    for record in _newest(records, account_sid, after_index):
        if not matches(record):
            continue
        if skip:
            skip -= 1
            continue
        if len(page) == size:
            return page, True
        page.append(record)
    return page, False


def _newest(
    records: dict[str, Record], account_sid: str, after_index: int | None
) -> Iterator[Record]:
    for record in reversed(records.values()):
        if after_index is not None and record.index >= after_index:
            continue
        if record.account_sid == account_sid:
            yield record
