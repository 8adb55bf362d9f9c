"""The calling-hours rules of /work/shared/compliance/CALLING_HOURS.md as data, for `windows.py`.

Three tables: the US state rules stricter than the federal 08:00-21:00 window (§2), the holiday
calendars some of them ban calls on, and the state of every US area code. The area-code table
is derived from libphonenumber's geocoding data (`derive_npa_states`); it is stored here rather
than derived at run time because loading that data costs every worker about 100 MB, and a test
re-derives it so a phonenumbers upgrade that moves an area code fails the suite.
"""

import datetime as dt
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

import holidays
from dateutil.easter import easter

from prospects.window_intervals import Span  # [start, end) minutes after midnight; 1440 = 24:00

WHOLE_DAY: Span = (0, 1440)
CHANNELS = frozenset({"voice", "sms"})


def hours(text: str) -> Span:
    """'08:00-20:00' as a Span."""
    start, end = text.split("-")
    return _minutes(start), _minutes(end)


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def _week(weekdays: str, saturday: str | None = None, sunday: str | None = None):
    """Monday-Sunday hours; Saturday defaults to the weekday hours, Sunday to Saturday's."""
    sat = weekdays if saturday is None else saturday
    sun = sat if sunday is None else sunday
    return (*(5 * (_span(weekdays),)), _span(sat), _span(sun))


def _span(text: str) -> Span | None:
    return None if text == "closed" else hours(text)


@dataclass(frozen=True, slots=True)
class StateRule:
    """One state's calling hours. A day with no hours (None) is a day without calls."""

    state: str
    name: str
    week: tuple[Span | None, ...]  # Monday..Sunday
    calendar: str = ""  # the holidays it bans calls on (holiday_calendar); "" = none
    on_holidays: Span | None = None  # the hours allowed on a holiday; None = no calls at all
    # A fixed zone the hours are read in as well as the recipient's own (Mississippi's statute
    # says "Central Standard Time": 08:00 CST is 09:00 CDT in summer).
    clock: str = ""
    channels: frozenset[str] = CHANNELS
    source: str = ""

    def spans(self, day: dt.date) -> tuple[Span, ...]:
        """The hours allowed on this local date."""
        if self.calendar and holiday_name(self.calendar, day):
            return () if self.on_holidays is None else (self.on_holidays,)
        found = self.week[day.weekday()]
        return () if found is None else (found,)

    def describe(self, day: dt.date) -> str:
        """Why `spans(day)` is what it is, for a verdict's reason."""
        if self.calendar and (holiday := holiday_name(self.calendar, day)):
            if self.on_holidays is None:
                return f"{self.name}: no calls on holidays ({holiday})"
            return f"{self.name}: {format_span(self.on_holidays)} on holidays ({holiday})"
        found = self.week[day.weekday()]
        if found is None:
            return f"{self.name}: no calls on {day:%A}s"
        return f"{self.name}: {format_span(found)} on {day:%A}s"


def format_span(span: Span) -> str:
    return "{:02d}:{:02d}-{:02d}:{:02d}".format(*divmod(span[0], 60), *divmod(span[1], 60))


_EVERY_DAY_8_20 = _week("08:00-20:00")

# CALLING_HOURS.md §2. Rows marked R there come from vendor tables ("confirm with counsel");
# they are enforced all the same, since a campaign can narrow a window but never widen it.
STATE_RULES: dict[str, StateRule] = {
    rule.state: rule
    for rule in (
        StateRule("FL", "Florida", _EVERY_DAY_8_20, source="Fla. Stat. 501.616(6)(a) (V)"),
        StateRule("OK", "Oklahoma", _EVERY_DAY_8_20, source="15 O.S. 775C (V)"),
        StateRule("MD", "Maryland", _EVERY_DAY_8_20, source="Stop the Spam Calls Act 2023 (V)"),
        StateRule("WA", "Washington", _EVERY_DAY_8_20, source="RCW 80.36.390 (V)"),
        StateRule("CT", "Connecticut", _week("09:00-20:00"), source="C.G.S. 42-288a (V)"),
        StateRule(
            "TX",
            "Texas",
            _week("09:00-21:00", sunday="12:00-21:00"),
            source="Tex. Bus. & Com. Code 301.051 (R)",
        ),
        StateRule(
            "AL",
            "Alabama",
            _week("08:00-20:00", sunday="closed"),
            calendar="AL",
            source="Ala. Admin. Code r. 770-X-5-.17 (V, scope debated)",
        ),
        StateRule(
            "LA",
            "Louisiana",
            _week("08:00-20:00", sunday="closed"),
            calendar="LA",
            source="LPSC General Order R-29617 (R)",
        ),
        StateRule(
            "MS",
            "Mississippi",
            _week("08:00-20:00", sunday="closed"),
            clock="Etc/GMT+6",  # POSIX sign: UTC-6, i.e. Central Standard Time all year
            source="Miss. Code 77-3-723 (V)",
        ),
        StateRule(
            "UT",
            "Utah",
            _week("08:00-21:00", sunday="closed"),
            calendar="UT",
            source="Utah Code 13-25a-103(3) (V)",
        ),
        StateRule(
            "RI",
            "Rhode Island",
            _week("09:00-18:00", saturday="10:00-17:00", sunday="closed"),
            calendar="RI",
            source="R.I. Gen. Laws 5-61-2, 5-61-3.6 (V)",
        ),
        StateRule(
            "PA",
            "Pennsylvania",
            _week("08:00-21:00"),
            calendar="PA",
            source="73 P.S. 2245(a)(10) (V)",
        ),
        StateRule("KY", "Kentucky", _week("10:00-21:00"), source="vendor tables (R)"),
        StateRule("MA", "Massachusetts", _EVERY_DAY_8_20, source="vendor tables (R)"),
        StateRule("MI", "Michigan", _week("09:00-21:00"), source="vendor tables (R)"),
        StateRule("MN", "Minnesota", _week("09:00-21:00"), source="Minn. Stat. 325E.27 (R)"),
        StateRule("NM", "New Mexico", _week("09:00-21:00"), source="NMSA 57-12-22(B)(5) (V)"),
        # ADAD 09:00-21:00 (NRS 597.814, V); vendors report 20:00 for live calls (R).
        StateRule("NV", "Nevada", _week("09:00-20:00"), source="NRS 597.814 (V/R)"),
        # 09:00 for prerecorded/automatic dialing (the platform dials automatically), 08:00 live.
        StateRule("IL", "Illinois", _week("09:00-21:00"), source="vendor tables (R)"),
        StateRule(
            "NE",
            "Nebraska",
            _week("00:00-24:00", sunday="13:00-21:00"),
            calendar="NE",
            on_holidays=hours("13:00-21:00"),
            channels=frozenset({"voice"}),  # prerecorded messages: a text is not one
            source="Neb. Admin. Code tit. 291 ch. 11 §3 (R)",
        ),
        StateRule("WY", "Wyoming", _EVERY_DAY_8_20, source="vendor tables (R/?)"),
    )
}

# --- Holiday calendars ----------------------------------------------------------------------

# Louisiana's LPSC list (R) and Pennsylvania's Act 73 of 2019 list, by the `holidays` package's
# English names; other states' lists are the package's own public calendar for the state.
_LA_NAMES = frozenset(
    {
        "New Year's Day",
        "Martin Luther King Jr. Day",
        "Mardi Gras",
        "Good Friday",
        "Independence Day",
        "Labor Day",
        "Veterans Day",
        "Thanksgiving Day",
        "Christmas Day",
    }
)
_PA_NAMES = frozenset(
    {
        "New Year's Day",
        "Martin Luther King Jr. Day",
        "Presidents' Day",
        "Memorial Day",
        "Independence Day",
        "Labor Day",
        "Columbus Day",
        "Veterans Day",
        "Thanksgiving Day",
        "Christmas Day",
    }
)
# Days a governor declared a holiday; the LPSC bans calls on them too (CALLING_HOURS.md §2).
_LA_DECLARED = {dt.date(2023, 7, 3): "Governor-declared holiday"}
_OBSERVED = " (observed)"


@functools.lru_cache(maxsize=256)
def holiday_calendar(name: str, year: int) -> Mapping[dt.date, str]:
    """The no-call holidays of one calendar ("AL", "LA", "NE", "PA", "RI", "UT") in a year.

    Both a holiday's date and its observed date (Saturday -> Friday, Sunday -> Monday) count.
    """
    if name in ("AL", "NE", "RI", "UT"):
        return dict(holidays.US(subdiv=name, years=year))
    if name == "LA":
        found = _named(holidays.US(subdiv="LA", years=year), _LA_NAMES)
        found.update((d, n) for d, n in _LA_DECLARED.items() if d.year == year)
        return found
    if name == "PA":
        found = _named(holidays.US(subdiv="PA", years=year), _PA_NAMES)
        found[easter(year) - dt.timedelta(days=2)] = "Good Friday"
        found[dt.date(year, 6, 14)] = "Flag Day"
        # The Tuesday after the first Monday of November.
        nov1 = dt.date(year, 11, 1)
        found[nov1 + dt.timedelta(days=(1 - nov1.weekday()) % 7 or 7)] = "Election Day"
        return found
    raise ValueError(f"unknown holiday calendar {name!r}")


def _named(calendar: Mapping[dt.date, str], names: frozenset[str]) -> dict[dt.date, str]:
    found = {}
    for day, label in calendar.items():
        kept = [part for part in label.split("; ") if part.removesuffix(_OBSERVED) in names]
        if kept:
            found[day] = "; ".join(kept)
    return found


def holiday_name(calendar: str, day: dt.date) -> str:
    """The holiday on this date in the calendar, or ""."""
    return holiday_calendar(calendar, day.year).get(day, "")


# --- Area code -> state ---------------------------------------------------------------------

# Derived from phonenumbers 9.0.43's geocoding data by derive_npa_states(); a test re-derives it.
# An area code appears under every state one of its exchanges is geocoded to (201: NJ and NY).
_NPAS_BY_STATE = {
    "AK": "907",
    "AL": "205 251 256 334 659 938",
    "AR": "327 479 501 870",
    "AZ": "480 520 602 623 928",
    "CA": "209 213 279 310 323 341 350 369 408 415 424 442 510 530 559 562 619 626 628 650 657 "
    "661 669 707 714 738 747 760 805 818 820 831 840 858 909 916 925 949 951",
    "CO": "303 719 720 748 970 983",
    "CT": "203 475 860 959",
    "DC": "202 771",
    "DE": "302",
    "FL": "239 305 321 324 352 386 407 448 561 645 656 689 727 728 754 772 786 813 850 863 904 "
    "941 954",
    "GA": "229 404 470 478 678 706 762 770 912 943",
    "HI": "808",
    "IA": "319 515 563 641 712",
    "ID": "208 986",
    "IL": "217 224 309 312 331 447 464 618 630 708 730 773 779 815 847 872",
    "IN": "219 260 317 463 574 765 812 930",
    "KS": "316 620 785 913",
    "KY": "270 364 502 606 859",
    "LA": "225 318 337 504 985",
    "MA": "339 351 413 508 617 774 781 857 978",
    "MD": "227 240 301 410 443 667",
    "ME": "207",
    "MI": "231 248 269 313 517 586 616 734 810 906 947 989",
    "MN": "218 320 507 612 651 763 952",
    "MO": "235 314 417 557 573 636 660 816 975",
    "MS": "228 601 662 769",
    "MT": "406",
    "NC": "252 336 472 704 743 828 910 919 980 984",
    "ND": "701",
    "NE": "308 402 531",
    "NH": "603",
    "NJ": "201 551 609 640 732 848 856 862 908 973",
    "NM": "505 575",
    "NV": "702 725 775",
    "NY": "201 212 315 329 332 347 363 516 518 585 607 631 646 680 716 718 838 845 914 917 929 934",
    "OH": "216 220 234 283 326 330 380 419 440 513 567 614 740 937",
    "OK": "405 539 572 580 918",
    "OR": "458 503 541 971",
    "PA": "215 223 267 272 412 445 484 570 582 610 717 724 814 835 878",
    "RI": "401",
    "SC": "803 821 839 843 854 864",
    "SD": "605",
    "TN": "423 615 629 731 865 901 931",
    "TX": "210 214 254 281 325 346 361 409 430 432 469 512 682 713 726 737 806 817 830 832 903 "
    "915 936 940 945 956 972 979",
    "UT": "385 435 801",
    "VA": "276 434 540 571 686 703 757 804 826 948",
    "VT": "802",
    "WA": "206 253 360 425 509 564",
    "WI": "262 274 353 414 534 608 715 920",
    "WV": "304 681",
    "WY": "307",
}


def _invert(by_state: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    found: dict[str, set[str]] = {}
    for state, npas in by_state.items():
        for npa in npas.split():
            found.setdefault(npa, set()).add(state)
    return {npa: tuple(sorted(states)) for npa, states in sorted(found.items())}


NPA_STATES: dict[str, tuple[str, ...]] = _invert(_NPAS_BY_STATE)

_STATE_NAMES = {
    "Alabama": "AL",
    "Alaska": "AK",
    "Arizona": "AZ",
    "Arkansas": "AR",
    "California": "CA",
    "Colorado": "CO",
    "Connecticut": "CT",
    "Delaware": "DE",
    "Washington D.C.": "DC",
    "Florida": "FL",
    "Georgia": "GA",
    "Hawaii": "HI",
    "Idaho": "ID",
    "Illinois": "IL",
    "Indiana": "IN",
    "Iowa": "IA",
    "Kansas": "KS",
    "Kentucky": "KY",
    "Louisiana": "LA",
    "Maine": "ME",
    "Maryland": "MD",
    "Massachusetts": "MA",
    "Michigan": "MI",
    "Minnesota": "MN",
    "Mississippi": "MS",
    "Missouri": "MO",
    "Montana": "MT",
    "Nebraska": "NE",
    "Nevada": "NV",
    "New Hampshire": "NH",
    "New Jersey": "NJ",
    "New Mexico": "NM",
    "New York": "NY",
    "North Carolina": "NC",
    "North Dakota": "ND",
    "Ohio": "OH",
    "Oklahoma": "OK",
    "Oregon": "OR",
    "Pennsylvania": "PA",
    "Rhode Island": "RI",
    "South Carolina": "SC",
    "South Dakota": "SD",
    "Tennessee": "TN",
    "Texas": "TX",
    "Utah": "UT",
    "Vermont": "VT",
    "Virginia": "VA",
    "Washington State": "WA",
    "West Virginia": "WV",
    "Wisconsin": "WI",
    "Wyoming": "WY",
}
US_STATES = frozenset(_STATE_NAMES.values())
_CITY_STATE = re.compile(r".*, ([A-Z]{2})")  # "Pensacola, FL"


def derive_npa_states(
    geocode_data: Mapping[str, Mapping[str, str]],
) -> dict[str, tuple[str, ...]]:
    """Area code -> states, from phonenumbers.geodata.GEOCODE_DATA's +1 entries.

    An entry's English description is a state ("Texas", "Washington State") or a place
    ("Pensacola, FL"); Canadian provinces and territories' places ("Tamuning") are not US states
    and are skipped.
    """
    found: dict[str, set[str]] = {}
    for key, names in geocode_data.items():
        if len(key) < 4 or key[0] != "1":
            continue
        description = names.get("en", "")
        state = _STATE_NAMES.get(description)
        if state is None and (m := _CITY_STATE.fullmatch(description)):
            state = m.group(1) if m.group(1) in US_STATES else None
        if state is not None:
            found.setdefault(key[1:4], set()).add(state)
    return {npa: tuple(sorted(states)) for npa, states in sorted(found.items())}
