"""The carrier interface the engine talks to, and how carrier errors are classified."""

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

# Twilio error codes by what the caller should do about them.
PERMANENT_FOR_NUMBER = frozenset({21211, 21214, 21217, 21614, 13224})
OPTED_OUT = 21610
RATE_LIMITED = 20429


@dataclass(frozen=True)
class CallRequest:
    to: str
    from_: str
    status_callback: str
    twiml: str = '<Response><Pause length="1"/></Response>'
    twiml_url: str | None = None  # fetched by the carrier when the call connects; wins over twiml
    machine_detection: str | None = "Enable"  # "Enable", "DetectMessageEnd" or None
    amd_callback: str | None = None
    timeout_seconds: int = 30
    time_limit_seconds: int | None = None


@dataclass(frozen=True)
class CallInfo:
    sid: str
    status: str
    to: str = ""
    from_: str = ""
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: int | None = None
    answered_by: str | None = None


@dataclass(frozen=True)
class MessageRequest:
    to: str
    from_: str
    body: str
    status_callback: str
    validity_period: int | None = None  # seconds it may wait at the carrier (Twilio: 36,000)


@dataclass(frozen=True)
class MessageInfo:
    sid: str
    status: str
    num_segments: int | None = None  # 0 through a Messaging Service until a sender is picked
    error_code: int | None = None  # on failed/undelivered, e.g. 30003, 30036
    to: str = ""
    from_: str = ""
    date_created: datetime | None = None
    date_sent: datetime | None = None  # None until the carrier sends it


class ProviderError(Exception):
    """A carrier refusal or failure, classified for the caller.

    transient: safe to retry later with backoff and jitter (429/20429, 5xx, timeouts).
    permanent_for_number: this number will never work (invalid, unreachable, landline).
    opted_out: the recipient opted out of this sender; add them to the suppression list.
    maybe_done: the request reached the carrier and no answer came back (a read timeout, a
    connection dropped mid-answer): it may have been carried out, so it must be looked up
    (reconciliation), never simply repeated.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
        maybe_done: bool = False,
    ):
        super().__init__(message)
        self.maybe_done = maybe_done
        self.code = code
        self.http_status = http_status
        self.retry_after = retry_after

    @property
    def public_message(self) -> str:
        """What an API client may be told: the carrier's own words when it answered (they
        are about the request), else what happened, without the transport's details (the
        carrier's host and port, the account's path)."""
        if self.http_status is not None:
            return str(self.args[0])
        return "no answer came back" if self.maybe_done else "it could not be reached"

    @property
    def transient(self) -> bool:
        return (
            self.code == RATE_LIMITED
            or self.http_status in (None, 429)
            or (self.http_status is not None and self.http_status >= 500)
        )

    @property
    def opted_out(self) -> bool:
        return self.code == OPTED_OUT

    @property
    def permanent_for_number(self) -> bool:
        return self.code in PERMANENT_FOR_NUMBER

    def __repr__(self) -> str:
        return f"ProviderError(code={self.code}, http_status={self.http_status}, {self.args[0]!r})"


def retry_delay(
    attempt: int,
    *,
    base: float = 2.0,
    cap: float = 300.0,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number `attempt` (0-based) of a transient error.

    Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)], so many
    workers refused at once do not come back at once; never sooner than the carrier's
    Retry-After when it sent one.
    """
    ceiling = min(cap, base * 2 ** min(attempt, 32))
    delay = (rng or random).uniform(0, ceiling)
    return max(delay, retry_after or 0.0)


class Provider(Protocol):
    def originate_call(self, request: CallRequest) -> CallInfo: ...

    def originate_calls(self, requests: list[CallRequest]) -> list[CallInfo | ProviderError]:
        """Many calls at once; each answer or refusal (never raised), in order."""
        ...

    def send_sms(self, *, to: str, from_: str, body: str, status_callback: str) -> MessageInfo: ...

    def send_messages(self, requests: list[MessageRequest]) -> list[MessageInfo | ProviderError]:
        """Many texts at once; each answer or refusal (never raised), in order."""
        ...

    def fetch_call(self, sid: str) -> CallInfo: ...

    def fetch_message(self, sid: str) -> MessageInfo: ...

    def fetch_messages(self, sids: list[str]) -> list[MessageInfo | ProviderError]:
        """Many texts by sid at once; each text or the carrier's refusal (never raised), in
        order."""
        ...

    def list_calls(
        self,
        *,
        to: str | None = None,
        from_: str | None = None,
        started_after: datetime | None = None,
        started_before: datetime | None = None,
    ) -> list[CallInfo]: ...

    def list_messages(
        self,
        *,
        to: str | None = None,
        from_: str | None = None,
        sent_after: datetime | None = None,
        sent_before: datetime | None = None,
    ) -> list[MessageInfo]:
        """Newest first. `sent_after` (at or after) and `sent_before` (before) go to the carrier
        in whole UTC seconds and bound when the message was sent; one still queued has no send
        time yet (the simulator matches it by when it was created)."""
        ...

    def hangup_call(self, sid: str) -> CallInfo: ...

    def update_call_twiml(self, sid: str, twiml: str) -> CallInfo:
        """Replace what a live call plays; the carrier refuses a call that is not in progress
        (Twilio: 400/21220)."""
        ...
