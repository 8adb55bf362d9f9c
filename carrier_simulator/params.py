"""Request parameters: validation in Twilio's error codes, and Twilio's defaults for omitted ones.

The SDK drops unset parameters and sends list parameters as repeated keys, so forms are read
as multi-dicts (`getall`) and every default is applied here (contract §0).
"""

import functools
from collections.abc import Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import unquote_plus, urlsplit

from multidict import MultiDict

from carrier_simulator.formats import ApiError, is_e164, parse_api_time
from carrier_simulator.state import CallFilter, CallOptions, MessageFilter, TimeBound

CALL_EVENTS = frozenset({"initiated", "ringing", "answered", "completed"})
AMD_MODES = frozenset({"Enable", "DetectMessageEnd"})
METHODS = frozenset({"GET", "POST"})
URL_SCHEMES = ("http://", "https://")
CALL_FILTER_KEYS = (
    "To",
    "From",
    "Status",
    "ParentCallSid",
    "StartTime",
    "StartTime>",
    "StartTime<",
    "EndTime",
    "EndTime>",
    "EndTime<",
)
MESSAGE_FILTER_KEYS = ("To", "From", "DateSent", "DateSent>", "DateSent<")
CALL_OPTION_FIELDS = (  # what `call_options` reads, besides StatusCallbackEvent
    "StatusCallback",
    "StatusCallbackMethod",
    "MachineDetection",
    "SendDigits",
    "AsyncAmd",
    "AsyncAmdStatusCallback",
    "AsyncAmdStatusCallbackMethod",
    "MachineDetectionTimeout",
    "Timeout",
    "TimeLimit",
    "Record",
)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


class Form(Protocol):
    """The multi-dict interface of aiohttp's `MultiDictProxy` that we use."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def getall(self, key: str, default: Any = ...) -> list[Any]: ...

    def __contains__(self, key: object) -> bool: ...


def form(body: str) -> MultiDict[str]:
    """A urlencoded body's fields, as aiohttp reads them (blank values kept, '+' a space)."""
    return MultiDict([_form_field(field) for field in body.split("&") if field])


@functools.lru_cache(maxsize=4096)  # most of a create's fields repeat from call to call
def _form_field(field: str) -> tuple[str, str]:
    name, _, value = field.partition("=")
    return unquote_plus(name), unquote_plus(value)


def bad_request(code: int, message: str) -> ApiError:
    return ApiError(400, code, message)


def text(form: Form, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def integer(form: Form, name: str, default: int, *, low: int, high: int) -> int:
    raw = text(form, name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(20001, f"Invalid {name}: {raw!r} is not an integer") from None
    if not low <= value <= high:
        raise bad_request(20001, f"Invalid {name}: {value} is not between {low} and {high}")
    return value


def method(form: Form, name: str) -> str:
    value = text(form, name).upper() or "POST"
    if value not in METHODS:
        raise bad_request(20001, f"Invalid {name}: {value!r}; use GET or POST")
    return value


def callback_url(form: Form, name: str, *, code: int = 21609) -> str | None:
    url = text(form, name)
    if not url:
        return None
    problem = _url_problem(url)
    if problem is not None:
        raise bad_request(code, f"{name} is not a valid URL: {problem}{url}")
    return url


@functools.lru_cache(maxsize=1024)  # every create repeats the same few callback URLs
def _url_problem(url: str) -> str | None:
    """What makes `url` unusable as a callback URL, as a message prefix; None if it is fine."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:  # e.g. an unclosed IPv6 bracket
        host = ""
    if not url.startswith(URL_SCHEMES) or " " in url or not host:
        return ""
    if "_" in host:  # contract §1.1: hostnames may not contain underscores
        return "its hostname has an underscore: "
    return None


def is_phone_address(to: str) -> bool:
    return not to.startswith(("sip:", "client:"))


# --- calls ---------------------------------------------------------------------------------


def call_parties(form: Form) -> tuple[str, str]:
    to, from_ = text(form, "To"), text(form, "From")
    if not to:
        raise bad_request(21201, "No 'To' number is specified")
    if not from_:
        raise bad_request(21213, "No 'From' number is specified")
    if is_phone_address(to) and not is_e164(to):
        raise bad_request(21211, f"Invalid 'To' Phone Number: {to}")
    if is_phone_address(to) and not is_e164(from_):
        raise bad_request(21212, f"Invalid 'From' Phone Number: {from_}")
    if not (text(form, "Url") or text(form, "Twiml") or text(form, "ApplicationSid")):
        raise bad_request(21205, "Url parameter is required.")
    callback_url(form, "Url", code=21205)  # Url wins over Twiml; it must be a URL
    return to, from_


def call_options(form: Form) -> CallOptions:
    """Twilio's defaults: only `completed` without StatusCallbackEvent; POST; AMD off.

    A platform sends the same options with call after call, so each distinct set is checked
    and built once; the calls share the (immutable) result.
    """
    events = tuple(form.getall("StatusCallbackEvent", []))
    return _call_options(events, tuple(text(form, name) for name in CALL_OPTION_FIELDS))


@functools.lru_cache(maxsize=256)
def _call_options(events: tuple[str, ...], values: tuple[str, ...]) -> CallOptions:
    form = MultiDict(zip(CALL_OPTION_FIELDS, values, strict=True))
    subscribed = frozenset(events) & CALL_EVENTS
    amd_mode = text(form, "MachineDetection") or None
    if amd_mode is not None and amd_mode not in AMD_MODES:
        raise bad_request(20001, f"Invalid MachineDetection: {amd_mode!r}")
    if text(form, "SendDigits"):
        amd_mode = None  # MachineDetection is ignored when SendDigits is present
    return CallOptions(
        status_callback=callback_url(form, "StatusCallback"),
        status_callback_method=method(form, "StatusCallbackMethod"),
        events=subscribed or frozenset({"completed"}),
        amd_mode=amd_mode,
        async_amd=text(form, "AsyncAmd").lower() == "true",
        amd_callback=callback_url(form, "AsyncAmdStatusCallback"),
        amd_callback_method=method(form, "AsyncAmdStatusCallbackMethod"),
        amd_timeout_s=integer(form, "MachineDetectionTimeout", 30, low=1, high=120),
        timeout_s=integer(form, "Timeout", 60, low=1, high=600),
        time_limit_s=integer(form, "TimeLimit", 14_400, low=1, high=86_400),
        record=text(form, "Record").lower() == "true",
    )


def log_level(query: Form) -> int | None:
    """A Notifications list's `Log` filter: 0 errors, 1 warnings, absent both."""
    raw = text(query, "Log")
    if not raw:
        return None
    if raw not in ("0", "1"):
        raise bad_request(20001, f"Invalid Log: {raw!r}; use 0 or 1")
    return int(raw)


def update_status(form: Form) -> str | None:
    status = text(form, "Status") or None
    if status is not None and status not in ("canceled", "completed"):
        raise bad_request(20001, f"Invalid Status: {status!r}; use canceled or completed")
    return status


def update_redirect(form: Form) -> tuple[str | None, str | None]:
    """(Twiml, Url) of an update; `Url` wins when both are given (contract §1.1)."""
    url = callback_url(form, "Url", code=21205)
    method(form, "Method")
    twiml = text(form, "Twiml") or None
    return (None, url) if url else (twiml, None)


def call_filter(query: Form) -> CallFilter:
    start = _time_bound(query, "StartTime")
    end = _time_bound(query, "EndTime")
    return CallFilter(
        to=text(query, "To") or None,
        from_=text(query, "From") or None,
        status=text(query, "Status") or None,
        parent_call_sid=text(query, "ParentCallSid") or None,
        start=start,
        end=end,
    )


def _time_bound(query: Form, name: str) -> TimeBound:
    day = _moment(query, name)
    if day is not None:
        day -= day % 86_400  # a datetime means its UTC day, like a date
    return TimeBound(
        day_start=day, at_or_after=_moment(query, f"{name}>"), before=_moment(query, f"{name}<")
    )


def _moment(query: Form, name: str) -> float | None:
    # `StartTime>=2024-01-01` on the wire parses as key `StartTime>` and value `=2024-01-01`.
    raw = text(query, name).lstrip("=")
    if not raw:
        return None
    try:
        moment, _ = parse_api_time(raw)
    except ValueError:
        raise bad_request(20001, f"Invalid {name}: {raw!r}") from None
    return moment.timestamp()


def filters_for_uri(query: Mapping[str, str], keys: Iterable[str]) -> list[tuple[str, str]]:
    """The list filters among `keys` that `query` sets, for the page envelope's URIs."""
    return [(key, query[key]) for key in keys if query.get(key)]


def paging(query: Form) -> tuple[int, int, int | None]:
    """(PageSize, Page, the cursor index from PageToken or None)."""
    size = integer(query, "PageSize", DEFAULT_PAGE_SIZE, low=1, high=MAX_PAGE_SIZE)
    page = integer(query, "Page", 0, low=0, high=10**9)
    token = text(query, "PageToken")
    if not token:
        return size, page, None
    if not (token.startswith("PA") and token[2:].isdigit()):
        raise bad_request(20001, f"Invalid PageToken: {token!r}")
    return size, page, int(token[2:])


# --- messages ------------------------------------------------------------------------------


def message_parties(form: Form) -> tuple[str, str | None, str | None]:
    """(To, From or None, MessagingServiceSid or None)."""
    to = text(form, "To")
    if not to:
        raise bad_request(21604, "A 'To' phone number is required.")
    if not is_e164(to):
        raise bad_request(21211, f"Invalid 'To' Phone Number: {to}")
    from_ = text(form, "From") or None
    service = text(form, "MessagingServiceSid") or None
    if from_ is None and service is None:
        raise bad_request(21603, "A 'From' phone number is required.")
    return to, from_, service


def message_filter(query: Form) -> MessageFilter:
    """`To`, `From`, and `DateSent` (its UTC day; a datetime stands for its day) or `DateSent>`
    (at or after) and `DateSent<` (strictly before), as the SDK sends them: `YYYY-MM-DD` or
    `YYYY-MM-DDTHH:MM:SSZ`."""
    return MessageFilter(
        to=text(query, "To") or None,
        from_=text(query, "From") or None,
        sent=_time_bound(query, "DateSent"),
    )


def message_content(form: Form) -> tuple[str, list[str]]:
    body, media = text(form, "Body"), form.getall("MediaUrl", [])
    if not body and not media:
        raise bad_request(21602, "Message body is required.")
    if len(body) > 1600:
        raise bad_request(21617, "The concatenated message body exceeds the 1600 character limit.")
    if len(media) > 10:
        raise bad_request(21623, "Number of media files exceeds allowed limit (10).")
    return body, media
