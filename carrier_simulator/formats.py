"""Twilio wire formats: sids, RFC 2822 dates, E.164, SMS segments, the legacy error shape."""

import functools
import math
import random
import re
import time
from datetime import UTC, datetime
from typing import Any

API_VERSION = "2010-04-01"
E164 = re.compile(r"^\+[1-9]\d{7,14}$")
NANP = re.compile(r"^\+1(\d{3})(\d{3})(\d{4})$")

_SIDS = random.Random()  # sids need to be unique, not secret
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# GSM 03.38: the basic table, and the extension table whose characters take two septets.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


def sid(prefix: str) -> str:
    """A Twilio sid: two letters and 32 hex digits."""
    return f"{prefix}{_SIDS.getrandbits(128):032x}"


def rfc2822(ts: float | None) -> str | None:
    """`Tue, 31 Aug 2010 20:36:28 +0000` for a Unix time (None stays None)."""
    return None if ts is None else _rfc2822_second(math.floor(ts))


@functools.lru_cache(maxsize=256)  # a call's times mostly fall in the same few seconds
def _rfc2822_second(second: int) -> str:
    t = time.gmtime(second)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


def dlr_done_date(ts: float) -> str:
    """`RawDlrDoneDate`: YYMMDDhhmm in UTC."""
    return time.strftime("%y%m%d%H%M", time.gmtime(ts))


def parse_api_time(value: str) -> tuple[datetime, bool]:
    """A list filter's date (`YYYY-MM-DD`) or datetime (`YYYY-MM-DDTHH:MM:SSZ`), as UTC.

    Returns the moment and whether only a date was given. Raises ValueError otherwise.
    """
    if len(value) == 10:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC), True
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC), False


def is_e164(number: str) -> bool:
    return E164.match(number) is not None


def formatted(number: str) -> str:
    """`to_formatted`/`from_formatted`: `(415) 867-5309` for NANP numbers, else unchanged."""
    match = NANP.match(number)
    return f"({match[1]}) {match[2]}-{match[3]}" if match else number


def num_segments(body: str) -> int:
    """Segments of an SMS body: GSM-7 160 / 153 per part, UCS-2 70 / 67 (UTF-16 units)."""
    if not body:
        return 1
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in body):
        units = len(body) + sum(1 for c in body if c in GSM7_EXTENSION)
        single, multi = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, multi = 70, 67
    return 1 if units <= single else math.ceil(units / multi)


def sender_type(sender: str) -> str:
    """long_code, toll_free or short_code, for per-sender message throughput."""
    if sender.isdigit() and 5 <= len(sender) <= 6:
        return "short_code"
    if sender[:5] in ("+1800", "+1833", "+1844", "+1855", "+1866", "+1877", "+1888"):
        return "toll_free"
    return "long_code"


def error_body(code: int, message: str, status: int) -> dict[str, Any]:
    """The legacy `/2010-04-01` error shape the SDK turns into `TwilioRestException`."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class ApiError(Exception):
    """A refusal in Twilio's legacy error shape (contract §3)."""

    def __init__(self, status: int, code: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.status)
