"""Calling windows: may this number be called or texted now, and if not, when? Pure functions.

The rules are /work/shared/compliance/CALLING_HOURS.md's. Windows are half-open, `[start, end)`,
in the recipient's local time, and a number may ring in several zones: the call is allowed only
when every one of them is inside the window.

- Zones (§3). libphonenumber's exact lookup, plus, for a +1 geographic number, every zone of its
  area code (libphonenumber often names one zone for an area code that spans two). The +1
  catch-all answer (all 42 NANP zones, given for toll-free numbers and unlisted prefixes)
  locates nothing and counts as `Etc/Unknown`. An explicit zone (the prospect's) replaces the
  zones of a non-geographic or unlocated number and is added to those of a geographic one. An
  invalid number, or one left with `Etc/Unknown`, is never allowed. A future reliable current
  location (consented device location) could narrow the set; nothing narrows it today.
- Policies. "federal": 08:00-21:00 local, every day, every country. "state": federal plus the
  US state rules of `window_rules.STATE_RULES` for the area code's state and the prospect's
  address state (the strictest of both), for US numbers only (not Canada or the territories).
- A campaign's windows narrow the policy window per weekday; texts follow the same rules as
  calls, save the rules that only concern voice (Nebraska's prerecorded messages).
- DST. Local time is always found UTC -> zone with zoneinfo. A local time that occurs twice
  (clocks going back) is outside every window; one that is skipped never occurs, so a window
  edge inside a skipped hour moves to the end of the gap.

`next_allowed_at` is computed on intervals, not by stepping minutes: per zone, the UTC
intervals of each local day's allowed spans, cut at the zone's offset changes, then intersected
across zones.
"""

import datetime as dt
import functools
import re
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import PhoneNumberType
from phonenumbers import timezone as pn_timezone
from phonenumbers.tzdata import TIMEZONE_DATA

from prospects.phones import nanp_deciding_prefix
from prospects.window_intervals import (
    first_open,
    intersect,
    is_open_at,
    is_repeated,
    local_time,
    union,
)
from prospects.window_rules import (
    CHANNELS,
    NPA_STATES,
    STATE_RULES,
    WHOLE_DAY,
    Span,
    StateRule,
    format_span,
)

POLICIES = frozenset({"federal", "state"})
UNKNOWN_ZONE = "Etc/Unknown"
FEDERAL: Span = (8 * 60, 21 * 60)
HORIZON = dt.timedelta(days=14)  # how far next_allowed_at searches
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_GEOGRAPHIC = frozenset(
    {PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
)
_NANP_CATCH_ALL = frozenset(TIMEZONE_DATA["1"])
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")
_RANGE = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-\u2013]\s*(\d{1,2}:\d{2})\s*$")


@dataclass(frozen=True, slots=True)
class Window:
    """A campaign window: [start, end) minutes after local midnight on some weekdays (0=Mon)."""

    start: int
    end: int
    days: frozenset[int] = frozenset(range(7))


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    zones: tuple[str, ...]  # the zones the number was judged in, sorted
    reason: str
    next_allowed_at: dt.datetime | None  # earliest UTC instant >= at that is allowed (14 days)


# --- Windows --------------------------------------------------------------------------------


def parse_time(text: str, *, end: bool = False) -> int:
    """'HH:MM' as minutes after midnight; '24:00' only as an end."""
    m = _HHMM.match(text) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f"{text!r} is not HH:MM")
    h, mi = int(m.group(1)), int(m.group(2))
    if mi > 59 or h > 24 or (h == 24 and (mi or not end)):
        raise ValueError(f"{text!r} is not a time of day")
    return h * 60 + mi


def parse_window(text: str) -> Window:
    """'HH:MM-HH:MM' as a Window on every day."""
    m = _RANGE.match(text)
    if m is None:
        raise ValueError(f"window {text!r} is not HH:MM-HH:MM")
    start, end = parse_time(m.group(1)), parse_time(m.group(2), end=True)
    if start >= end:
        raise ValueError(f"window {text!r}: start must be before end")
    return Window(start, end)


def parse_windows(raw: Iterable[Mapping | Window]) -> tuple[Window, ...]:
    """A campaign's `calling_windows` JSON (see campaigns.validation) as Windows.

    Windows already parsed pass through, so callers may hand over either form.
    """
    found = []
    for i, item in enumerate(raw):
        if isinstance(item, Window):
            found.append(item)
            continue
        days = item.get("days", DAYS)
        if not days or any(d not in DAYS for d in days):
            raise ValueError(f"window {i}: days must be a non-empty list of {', '.join(DAYS)}")
        start = parse_time(item.get("start"))
        end = parse_time(item.get("end"), end=True)
        if start >= end:
            raise ValueError(f"window {i}: start must be before end")
        found.append(Window(start, end, frozenset(DAYS.index(d) for d in days)))
    return tuple(found)


# --- Zones and states of a number -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Number:
    geographic: bool
    zones: tuple[str, ...]  # derived from the number alone; (UNKNOWN_ZONE,) when unlocated
    states: tuple[str, ...]  # US states of its area code (US numbers only)


@functools.cache
def _zones_by_npa() -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for key, zones in TIMEZONE_DATA.items():
        if len(key) >= 4 and key[0] == "1":
            found.setdefault(key[1:4], set()).update(zones)
    return {npa: frozenset(zones) for npa, zones in found.items()}


def npa_zones(npa: str) -> frozenset[str]:
    """Every zone libphonenumber lists for any prefix of this NANP area code."""
    return _zones_by_npa().get(npa, frozenset())


_BY_PREFIX: dict[str, "_Number | None"] = {}
_BY_PREFIX_MAX = 200_000


def _number(e164: str) -> _Number | None:
    """The number's zones and states: shared by every +1 number with the same deciding prefix
    (prospects.phones), so a campaign's numbers cost a parse per prefix, not per number."""
    prefix = nanp_deciding_prefix(e164)
    if prefix is None:
        return _number_parsed(e164)
    try:
        return _BY_PREFIX[prefix]
    except KeyError:
        if len(_BY_PREFIX) >= _BY_PREFIX_MAX:
            _BY_PREFIX.clear()
        found = _BY_PREFIX[prefix] = _number_parsed(e164)
        return found


@functools.lru_cache(maxsize=65_536)
def _number_parsed(e164: str) -> _Number | None:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    geographic = phonenumbers.number_type(number) in _GEOGRAPHIC
    zones = set(pn_timezone.time_zones_for_number(number))
    states: tuple[str, ...] = ()
    if number.country_code == 1:
        npa = phonenumbers.national_significant_number(number)[:3]
        if zones == _NANP_CATCH_ALL:
            zones = set()
        if geographic:
            zones |= npa_zones(npa)
            if phonenumbers.region_code_for_number(number) == "US":
                states = NPA_STATES.get(npa, ())
    if not zones or UNKNOWN_ZONE in zones:
        zones = {UNKNOWN_ZONE}
    return _Number(geographic, tuple(sorted(zones)), states)


@functools.lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo | None:
    if not name or name == UNKNOWN_ZONE:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def is_zone(name: str) -> bool:
    """Whether zoneinfo knows this IANA zone name."""
    return _zone(name) is not None


def _combine(number: _Number, explicit_tz: str) -> tuple[str, ...]:
    if not explicit_tz:
        return number.zones
    explicit = explicit_tz if is_zone(explicit_tz) else UNKNOWN_ZONE
    if not number.geographic or number.zones == (UNKNOWN_ZONE,):
        return (explicit,)
    return tuple(sorted({*number.zones, explicit}))


def possible_zones(e164: str, explicit_tz: str = "") -> tuple[str, ...]:
    """Every zone the number may ring in (sorted); () for an invalid number.

    `("Etc/Unknown",)` (or a set containing it) means the number cannot be located.
    """
    number = _number(e164)
    return () if number is None else _combine(number, explicit_tz)


# --- Rules: what is allowed on a local date -------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Part:
    """One constraint: the spans allowed on a local date, and a description of them."""

    spans: Callable[[dt.date], tuple[Span, ...]]
    describe: Callable[[dt.date], str]


@dataclass(frozen=True, slots=True, eq=False)  # hashed by identity: _rules() caches them
class _Rules:
    local: tuple[_Part, ...]  # read in each of the recipient's zones
    fixed: tuple[tuple[str, _Part], ...]  # read in a fixed zone (Mississippi's CST)
    cache: dict

    def local_spans(self, day: dt.date) -> tuple[Span, ...]:
        try:
            return self.cache[day]
        except KeyError:
            pass
        spans: tuple[Span, ...] = (WHOLE_DAY,)
        for part in self.local:
            spans = intersect(spans, part.spans(day))
        if len(self.cache) > 4096:
            self.cache.clear()
        self.cache[day] = spans
        return spans


_FEDERAL_PART = _Part(lambda day: (FEDERAL,), lambda day: f"federal {format_span(FEDERAL)}")


def _campaign_part(windows: tuple[Window, ...]) -> _Part:
    by_weekday = tuple(
        union((w.start, w.end) for w in windows if weekday in w.days) for weekday in range(7)
    )

    def spans(day: dt.date) -> tuple[Span, ...]:
        return by_weekday[day.weekday()]

    def describe(day: dt.date) -> str:
        found = by_weekday[day.weekday()]
        if not found:
            return f"campaign windows: none on {day:%A}s"
        return "campaign windows " + ", ".join(map(format_span, found))

    return _Part(spans, describe)


def _state_part(rule: StateRule) -> _Part:
    return _Part(rule.spans, rule.describe)


@functools.lru_cache(maxsize=1024)
def _rules(
    policy: str, channel: str, windows: tuple[Window, ...], states: tuple[str, ...]
) -> _Rules:
    local = [_FEDERAL_PART]
    if windows:
        local.append(_campaign_part(windows))
    fixed = []
    if policy == "state":
        for state in states:
            rule = STATE_RULES.get(state)
            if rule is None or channel not in rule.channels:
                continue
            local.append(_state_part(rule))
            if rule.clock:
                fixed.append((rule.clock, _state_part(rule)))
    return _Rules(tuple(local), tuple(fixed), {})


def _validate(at_utc: dt.datetime, policy: str, channel: str = "voice") -> None:
    if at_utc.tzinfo is None or at_utc.utcoffset() is None:
        raise ValueError("at_utc must be an aware datetime")
    if policy not in POLICIES:
        raise ValueError(f"unknown calling policy {policy!r}")
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")


# --- The verdicts ---------------------------------------------------------------------------


def check(
    e164: str,
    at_utc: dt.datetime,
    *,
    channel: str = "voice",
    policy: str = "federal",
    windows: Iterable[Window | Mapping] = (),
    explicit_tz: str = "",
    address_state: str = "",
) -> Verdict:
    """May `e164` be called (or texted) at `at_utc`, and if not, when next?

    `windows` are the campaign's (its `calling_windows` JSON or parse_windows' result);
    `explicit_tz` is the prospect's IANA zone; `address_state` the two-letter state of the
    prospect's address, if known. Raises ValueError on a bad policy, channel or window.
    """
    _validate(at_utc, policy, channel)
    number = _number(e164)
    if number is None:
        return Verdict(False, (), "invalid number", None)
    zones = _combine(number, explicit_tz)
    if UNKNOWN_ZONE in zones:
        if explicit_tz and not is_zone(explicit_tz):
            why = f"unknown time zone {explicit_tz!r}"
        elif number.geographic:
            why = "the number's time zone is unknown"
        else:
            why = "non-geographic number: its time zone is unknown without an explicit one"
        return Verdict(False, zones, why, None)
    states = number.states
    if address_state and address_state.upper() not in states:
        states = (*states, address_state.upper())
    rules = _rules(policy, channel, parse_windows(windows), states)
    clocks = [(z, _zone(z), rules.local_spans, rules.local) for z in zones]
    clocks += [(name, _zone(name), part.spans, (part,)) for name, part in rules.fixed]

    ts = int(at_utc.timestamp() // 1)
    closed = next((c for c in clocks if not is_open_at(ts, c[1], c[2])), None)
    if closed is None:
        return Verdict(True, zones, "inside the window in every zone", at_utc.astimezone(dt.UTC))
    reason = _why_closed(ts, *closed)
    horizon = int(HORIZON.total_seconds())
    found = first_open(ts, [(zone, spans) for _, zone, spans, _ in clocks], horizon)
    if found is None:
        reason += f"; no allowed time in the next {HORIZON.days} days"
        return Verdict(False, zones, reason, None)
    return Verdict(False, zones, reason, dt.datetime.fromtimestamp(found, dt.UTC))


def eligible_zones(
    at_utc: dt.datetime,
    zones_universe: Iterable[str] | None = None,
    policy: str = "federal",
    windows: Iterable[Window | Mapping] = (),
    *,
    channel: str = "voice",
) -> frozenset[str]:
    """The zones of `zones_universe` (default: every IANA zone) inside the window at `at_utc`.

    For the dispatcher's claim: a prospect is claimable when every one of its zones is in the
    result. State rules depend on the number's state, not on a zone, so under the "state"
    policy this is a necessary condition only; check() applies them before each attempt and
    its next_allowed_at says when to try again. Unknown zone names are never eligible.
    """
    _validate(at_utc, policy, channel)
    ts = int(at_utc.timestamp() // 1)
    rules = _rules(policy, channel, parse_windows(windows), ())
    if zones_universe is None:
        return _eligible_everywhere(ts, rules)
    return frozenset(name for name in zones_universe if _eligible(ts, name, rules))


@functools.lru_cache(maxsize=64)  # a dispatch tick asks once per campaign, at one instant
def _eligible_everywhere(ts: int, rules: "_Rules") -> frozenset[str]:
    return frozenset(name for name in _all_zones() if _eligible(ts, name, rules))


@functools.cache
def _all_zones() -> tuple[str, ...]:
    found = set(zoneinfo.available_timezones())
    found.update(z for zones in TIMEZONE_DATA.values() for z in zones if is_zone(z))
    return tuple(sorted(found))


def _eligible(ts: int, name: str, rules: "_Rules") -> bool:
    zone = _zone(name)
    return zone is not None and is_open_at(ts, zone, rules.local_spans)


# --- Reasons --------------------------------------------------------------------------------


def _why_closed(ts: int, name: str, zone: ZoneInfo, spans, parts: tuple[_Part, ...]) -> str:
    local = local_time(ts, zone)
    when = f"{local:%a %Y-%m-%d %H:%M} in {name}"
    if is_repeated(local):
        return f"{when} is a repeated local time (clocks went back)"
    for part in parts:
        if not is_open_at(ts, zone, part.spans):
            return f"{when} is outside {part.describe(local.date())}"
    return f"{when} is outside the window"
