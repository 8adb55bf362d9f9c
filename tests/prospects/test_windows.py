"""prospects.windows: zones of a number, policy and campaign windows, DST, next allowed instant.

Every expected instant is worked out by hand from the zone's UTC offset on that date (noted
beside it); none is computed by the code under test. No test here needs the database.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from phonenumbers.tzdata import TIMEZONE_DATA

from prospects import window_intervals, windows
from prospects.window_rules import (
    NPA_STATES,
    STATE_RULES,
    derive_npa_states,
    holiday_calendar,
)
from prospects.windows import Window, check, eligible_zones, possible_zones

NY = "+12122220100"  # America/New_York
MIAMI = "+13052220100"  # FL, America/New_York
PANHANDLE = "+18502220100"  # FL 850: Tallahassee exchange, area code also Central
PHOENIX = "+16022220100"  # America/Phoenix, no DST
NAVAJO = "+19288710100"  # 928-871 Window Rock: (Denver, Phoenix)
ALASKA = "+19072790100"  # 907: Adak, Anchorage, Juneau, Honolulu
TOLL_FREE = "+18002220100"
INVALID = "+16842220100"  # American Samoa: not valid in phonenumbers 9.0.43
AU_MOBILE = "+61412345678"  # eight Australian zones
INDIA = "+919876543210"  # Asia/Calcutta, UTC+05:30
SUDAN = "+249912345678"  # Africa/Khartoum
LONDON = "+442079460000"
SYDNEY = "+61291234567"


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def verdict(phone, at, **kwargs):
    return check(phone, utc(at), **kwargs)


def assert_verdict(phone, at, allowed, next_at, **kwargs):
    """next_at None: allowed now (next_allowed_at is `at` itself) or never."""
    found = verdict(phone, at, **kwargs)
    assert found.allowed is allowed, found
    expected = utc(at) if allowed else (utc(next_at) if next_at else None)
    assert found.next_allowed_at == expected, found
    return found


# --- Zones ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone, explicit, zones",
    [
        (NY, "", ("America/New_York",)),
        # libphonenumber says New York for 850-222; the area code adds Central.
        (PANHANDLE, "", ("America/Chicago", "America/New_York")),
        ("+18504330100", "", ("America/Chicago", "America/New_York")),  # Pensacola
        ("+14232660100", "", ("America/Chicago", "America/New_York")),  # 423 Chattanooga
        ("+19159330100", "", ("America/Denver",)),  # El Paso is Mountain
        ("+12083430100", "", ("America/Boise", "America/Denver", "America/Los_Angeles")),
        (PHOENIX, "", ("America/Phoenix",)),
        (NAVAJO, "", ("America/Denver", "America/Phoenix")),
        (ALASKA, "", ("America/Adak", "America/Anchorage", "America/Juneau", "Pacific/Honolulu")),
        ("+16712220100", "", ("Pacific/Guam",)),
        ("+17872220100", "", ("America/Puerto_Rico",)),
        (INDIA, "", ("Asia/Calcutta",)),
        (
            "+447400123456",
            "",
            ("Europe/Guernsey", "Europe/Isle_of_Man", "Europe/Jersey", "Europe/London"),
        ),  # fmt: skip
        # Toll-free: libphonenumber's answer is all 42 NANP zones, which locates nothing.
        (TOLL_FREE, "", ("Etc/Unknown",)),
        ("+18662220100", "", ("Etc/Unknown",)),
        # An explicit zone replaces a non-geographic number's zones ...
        (TOLL_FREE, "America/Chicago", ("America/Chicago",)),
        # ... and is added to a geographic number's.
        (NY, "America/Los_Angeles", ("America/Los_Angeles", "America/New_York")),
        (NY, "America/New_York", ("America/New_York",)),
        (NY, "Mars/Olympus_Mons", ("America/New_York", "Etc/Unknown")),
        (INVALID, "", ()),
        (INVALID, "America/Chicago", ()),
        ("not a number", "", ()),
    ],
)
def test_possible_zones(phone, explicit, zones):
    assert possible_zones(phone, explicit) == zones


def test_numbers_sharing_a_deciding_prefix_get_the_library_answer_of_each():
    """The per-prefix cache answers exactly what parsing each number would: a spread of +1
    numbers (every area code's first exchange, random digits, the deep prefixes) checked
    against a fresh parse, after the cache was filled by other numbers of the same prefixes."""
    import random

    from prospects.phones import _deep_nanp_prefixes, nanp_deciding_prefix

    rng = random.Random(7)
    sample = [f"+1{npa}2{rng.randrange(10**6):06d}" for npa in range(200, 1000)]
    sample += [f"+1{rng.choice('23456789')}{rng.randrange(10**9):09d}" for _ in range(3000)]
    for length, deep in _deep_nanp_prefixes():
        sample += [f"+1{p}{rng.randrange(10 ** (10 - length)):0{10 - length}d}" for p in deep]
    windows._BY_PREFIX.clear()
    for e164 in sample:  # fill the cache from other numbers of the same prefix
        prefix = nanp_deciding_prefix(e164) or e164[2:]
        rest = 10 - len(prefix)
        windows._number(f"+1{prefix}{rng.randrange(10**rest):0{rest}d}" if rest else e164)
    wrong = [e164 for e164 in sample if windows._number(e164) != windows._number_parsed(e164)]
    assert wrong == []


def test_the_area_code_table_matches_libphonenumbers_geocoding_data():
    from phonenumbers.geodata import GEOCODE_DATA

    assert derive_npa_states(GEOCODE_DATA) == NPA_STATES


def test_every_zone_libphonenumber_names_is_known_to_zoneinfo():
    named = {zone for zones in TIMEZONE_DATA.values() for zone in zones} - {"Etc/Unknown"}
    assert {zone for zone in named if not windows.is_zone(zone)} == set()


# --- Federal policy, every country ----------------------------------------------------------


@pytest.mark.parametrize(
    "phone, at, allowed, next_at",
    [
        # New York, EDT (UTC-4): 08:00-21:00 is 12:00-01:00 UTC; half-open.
        (NY, "2025-07-01 11:59:59", False, "2025-07-01 12:00"),
        (NY, "2025-07-01 12:00", True, None),
        (NY, "2025-07-02 00:59:59", True, None),
        (NY, "2025-07-02 01:00", False, "2025-07-02 12:00"),
        # EST (UTC-5) in January: 13:00-02:00 UTC.
        (NY, "2025-01-15 12:30", False, "2025-01-15 13:00"),
        # Phoenix: MST (UTC-7) all year, 15:00-04:00 UTC in July and January alike.
        (PHOENIX, "2025-07-01 14:30", False, "2025-07-01 15:00"),
        (PHOENIX, "2025-01-15 14:30", False, "2025-01-15 15:00"),
        (PHOENIX, "2025-07-02 03:59", True, None),
        (PHOENIX, "2025-07-02 04:00", False, "2025-07-02 15:00"),
        # Window Rock (Denver MDT UTC-6 + Phoenix UTC-7) in July: 15:00 (Phoenix opens) to
        # 03:00 UTC (Denver closes). In January both are UTC-7: to 04:00.
        (NAVAJO, "2025-07-01 14:30", False, "2025-07-01 15:00"),
        (NAVAJO, "2025-07-02 02:59", True, None),
        (NAVAJO, "2025-07-02 03:00", False, "2025-07-02 15:00"),
        (NAVAJO, "2025-01-16 03:30", True, None),
        # 850 (New York UTC-4 + Chicago UTC-5) in July: 13:00 to 01:00 UTC.
        (PANHANDLE, "2025-07-01 12:30", False, "2025-07-01 13:00"),
        (PANHANDLE, "2025-07-02 00:59", True, None),
        (PANHANDLE, "2025-07-02 01:00", False, "2025-07-02 13:00"),
        # Alaska in July: Honolulu (UTC-10) opens last at 18:00 UTC, Anchorage and Juneau
        # (AKDT, UTC-8) close first at 05:00 UTC.
        (ALASKA, "2025-07-01 17:59", False, "2025-07-01 18:00"),
        (ALASKA, "2025-07-02 04:59", True, None),
        (ALASKA, "2025-07-02 05:00", False, "2025-07-02 18:00"),
        # Guam (UTC+10): 08:00 is 22:00 UTC the day before.
        ("+16712220100", "2025-07-01 11:00", False, "2025-07-01 22:00"),
        # Puerto Rico (AST, UTC-4, no DST): 12:00 UTC in winter and summer.
        ("+17872220100", "2025-01-15 11:59", False, "2025-01-15 12:00"),
        ("+17872220100", "2025-07-01 12:00", True, None),
        # India, UTC+05:30: 02:30-15:30 UTC.
        (INDIA, "2025-07-01 02:29", False, "2025-07-01 02:30"),
        (INDIA, "2025-07-01 15:29:59", True, None),
        (INDIA, "2025-07-01 15:30", False, "2025-07-02 02:30"),
        # An Australian mobile in July (no DST down under): Cocos (UTC+6:30) opens last at
        # 01:30 UTC, Lord Howe (UTC+10:30) closes first at 10:30 UTC.
        (AU_MOBILE, "2025-07-01 01:29", False, "2025-07-01 01:30"),
        (AU_MOBILE, "2025-07-01 10:29", True, None),
        (AU_MOBILE, "2025-07-01 10:30", False, "2025-07-02 01:30"),
    ],
)
def test_federal_window(phone, at, allowed, next_at):
    assert_verdict(phone, at, allowed, next_at)


@pytest.mark.parametrize(
    "phone, at, allowed, next_at",
    [
        # US spring forward, Sun 2025-03-09 07:00 UTC: 08:00 EDT is 12:00 UTC (a stale EST
        # offset would say 13:00), the day before it was 13:00.
        (NY, "2025-03-09 06:00", False, "2025-03-09 12:00"),
        (NY, "2025-03-08 06:00", False, "2025-03-08 13:00"),
        (NY, "2025-03-10 00:59", True, None),  # 20:59 EDT
        (NY, "2025-03-10 01:00", False, "2025-03-10 12:00"),
        # US fall back, Sun 2025-11-02 06:00 UTC: 05:30 UTC is 01:30 EDT; 08:00 EST = 13:00.
        (NY, "2025-11-02 05:30", False, "2025-11-02 13:00"),
        (NY, "2025-11-02 01:00", False, "2025-11-02 13:00"),  # 21:00 EDT on Nov 1
        (NY, "2025-11-03 01:59", True, None),  # 20:59 EST
        (NY, "2025-11-03 02:00", False, "2025-11-03 13:00"),
        # 850 on the spring-forward day: Chicago (CDT from 08:00 UTC) opens at 13:00 UTC.
        (PANHANDLE, "2025-03-09 12:30", False, "2025-03-09 13:00"),
        # London moved to BST on 2025-03-30 at 01:00 UTC: 08:00 BST is 07:00 UTC.
        (LONDON, "2025-03-30 06:59", False, "2025-03-30 07:00"),
        (LONDON, "2025-03-29 07:30", False, "2025-03-29 08:00"),
        # Sydney left AEDT (UTC+11) for AEST (UTC+10) on 2025-04-05 at 16:00 UTC.
        (SYDNEY, "2025-04-05 20:00", False, "2025-04-05 22:00"),  # Apr 6 08:00 AEST
        (SYDNEY, "2025-04-04 20:00", False, "2025-04-04 21:00"),  # Apr 5 08:00 AEDT
    ],
)
def test_daylight_saving_days(phone, at, allowed, next_at):
    assert_verdict(phone, at, allowed, next_at)


def test_the_reason_names_the_zone_that_is_closed():
    found = verdict(PANHANDLE, "2025-07-01 12:30")
    assert found.zones == ("America/Chicago", "America/New_York")
    assert found.reason == (
        "Tue 2025-07-01 07:30 in America/Chicago is outside federal 08:00-21:00"
    )
    assert verdict(NY, "2025-07-01 12:00").reason == "inside the window in every zone"


def test_an_allowed_instant_keeps_its_precision_and_is_returned_in_utc():
    at = dt.datetime(2025, 7, 1, 10, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
    found = check(NY, at)
    assert found.allowed
    assert found.next_allowed_at == at and found.next_allowed_at.tzinfo == dt.UTC


def test_a_naive_instant_is_refused():
    with pytest.raises(ValueError, match="aware"):
        check(NY, dt.datetime(2025, 7, 1, 12, 0))


def test_unknown_policy_or_channel_is_refused():
    with pytest.raises(ValueError, match="policy"):
        verdict(NY, "2025-07-01 12:00", policy="strict")
    with pytest.raises(ValueError, match="channel"):
        verdict(NY, "2025-07-01 12:00", channel="fax")


# --- Numbers that are never allowed, and explicit zones -------------------------------------


def test_an_invalid_number_is_never_allowed():
    for phone in (INVALID, "+1212", "hello", ""):
        found = verdict(phone, "2025-07-01 16:00", explicit_tz="America/New_York")
        assert found == windows.Verdict(False, (), "invalid number", None)


def test_toll_free_without_a_zone_is_never_allowed():
    # 22:30 UTC in January is inside 08:00-21:00 in all 42 NANP zones, Guam (08:30) to
    # St John's (19:00) and Pago Pago (11:30), so the whole-NANP answer must not be used.
    for at in ("2025-01-15 22:30", "2025-07-01 16:00"):
        found = verdict(TOLL_FREE, at)
        assert (found.allowed, found.zones, found.next_allowed_at) == (
            False,
            ("Etc/Unknown",),
            None,
        )
        assert "non-geographic" in found.reason


def test_toll_free_with_an_explicit_zone_follows_that_zone():
    # Chicago, CDT (UTC-5): 13:00-02:00 UTC.
    assert_verdict(
        TOLL_FREE, "2025-07-01 12:59", False, "2025-07-01 13:00", explicit_tz="America/Chicago"
    )
    assert_verdict(TOLL_FREE, "2025-07-02 01:59", True, None, explicit_tz="America/Chicago")
    # With a zone, it is not Etc/Unknown any more, whatever the time.
    assert verdict(TOLL_FREE, "2025-07-01 16:00", explicit_tz="Asia/Tokyo").zones == ("Asia/Tokyo",)


def test_an_explicit_zone_is_added_to_a_geographic_number():
    # New York number, owner in Los Angeles (PDT, UTC-7): opens when LA does, 15:00 UTC;
    # closes when New York does, 01:00 UTC.
    kwargs = {"explicit_tz": "America/Los_Angeles"}
    assert_verdict(NY, "2025-07-01 14:30", False, "2025-07-01 15:00", **kwargs)
    assert_verdict(NY, "2025-07-02 00:59", True, None, **kwargs)
    assert_verdict(NY, "2025-07-02 01:00", False, "2025-07-02 15:00", **kwargs)


def test_an_unknown_explicit_zone_is_never_allowed():
    for phone in (NY, TOLL_FREE):
        found = verdict(phone, "2025-07-01 16:00", explicit_tz="Mars/Olympus_Mons")
        assert (found.allowed, found.next_allowed_at) == (False, None)
        assert found.reason == "unknown time zone 'Mars/Olympus_Mons'"


# --- Skipped and repeated local times -------------------------------------------------------


def test_a_window_edge_inside_a_skipped_hour_moves_to_the_end_of_the_gap():
    # Khartoum jumped from 12:00 (UTC+2) to 13:00 (UTC+3) at 10:00 UTC on Sat 2000-01-15.
    # A window opening at 12:30, which did not exist that day, opened at 13:00 local = 10:00.
    late = [{"days": ["sat"], "start": "12:30", "end": "17:00"}]
    assert_verdict(SUDAN, "2000-01-15 09:00", False, "2000-01-15 10:00", windows=late)
    # A window closing at 12:30 closed at the jump: 11:59:59 (UTC+2) is the last second.
    early = [{"days": ["sat", "sun"], "start": "08:00", "end": "12:30"}]
    assert_verdict(SUDAN, "2000-01-15 09:59:59", True, None, windows=early)
    assert_verdict(SUDAN, "2000-01-15 10:00", False, "2000-01-16 05:00", windows=early)


def test_a_repeated_local_time_is_outside_the_window():
    # Easter Island went back from UTC-6 to UTC-7 at 03:00 UTC on 1975-03-09, so 20:00-21:00
    # local on Sat 03-08 happened twice (02:00-03:00 and 03:00-04:00 UTC). Both are outside;
    # the window reopens at 08:00 UTC-7 = 15:00 UTC.
    easter = {"explicit_tz": "Pacific/Easter"}
    assert_verdict(TOLL_FREE, "1975-03-09 01:59", True, None, **easter)
    first = assert_verdict(TOLL_FREE, "1975-03-09 02:00", False, "1975-03-09 15:00", **easter)
    assert "repeated local time" in first.reason
    assert_verdict(TOLL_FREE, "1975-03-09 03:30", False, "1975-03-09 15:00", **easter)


def test_a_day_that_never_happened_has_no_window():
    # Samoa skipped Friday 2011-12-30 (UTC-10 to UTC+14). A Friday-only campaign waits for
    # Friday 2012-01-06 09:00 local (UTC+14) = 2012-01-05 19:00 UTC.
    fridays = [{"days": ["fri"], "start": "09:00", "end": "17:00"}]
    assert_verdict(
        TOLL_FREE,
        "2011-12-29 12:00",
        False,
        "2012-01-05 19:00",
        windows=fridays,
        explicit_tz="Pacific/Apia",
    )


def _intervals(zone: str, spans, start: str, end: str):
    found = window_intervals.open_intervals(
        ZoneInfo(zone), lambda day: spans, int(utc(start).timestamp()), int(utc(end).timestamp())
    )
    return [
        (dt.datetime.fromtimestamp(a, dt.UTC), dt.datetime.fromtimestamp(b, dt.UTC))
        for a, b in found
    ]


def test_intervals_on_the_us_fall_back_night():
    # 2025-11-02, New York: 01:00-02:00 happened twice (05:00-06:00 EDT, 06:00-07:00 EST).
    # A 01:00-03:00 span keeps only 02:00-03:00 EST = 07:00-08:00 UTC.
    got = _intervals("America/New_York", ((60, 180),), "2025-11-02 00:00", "2025-11-02 12:00")
    assert got == [(utc("2025-11-02 07:00"), utc("2025-11-02 08:00"))]


def test_intervals_on_the_us_spring_forward_night():
    # 2025-03-09, New York: 02:00-03:00 did not exist (07:00 UTC: 02:00 EST -> 03:00 EDT).
    ny = "America/New_York"
    # A span starting inside the gap starts at its end: 03:00 EDT = 07:00 UTC.
    got = _intervals(ny, ((150, 300),), "2025-03-09 00:00", "2025-03-09 12:00")
    assert got == [(utc("2025-03-09 07:00"), utc("2025-03-09 09:00"))]
    # A span ending inside the gap ends at its start: 01:30 EST = 06:30 to 07:00 UTC.
    got = _intervals(ny, ((90, 150),), "2025-03-09 00:00", "2025-03-09 12:00")
    assert got == [(utc("2025-03-09 06:30"), utc("2025-03-09 07:00"))]
    # A span across the gap is one interval: 01:00 EST (06:00) to 04:00 EDT (08:00).
    got = _intervals(ny, ((60, 240),), "2025-03-09 00:00", "2025-03-09 12:00")
    assert got == [(utc("2025-03-09 06:00"), utc("2025-03-09 08:00"))]


# --- State policy ---------------------------------------------------------------------------

STATE = {"policy": "state"}


@pytest.mark.parametrize(
    "phone, at, allowed, next_at, kwargs",
    [
        # Florida 08:00-20:00: 20:00 EDT is 00:00 UTC. Federal alone would allow it.
        (MIAMI, "2025-07-01 23:59", True, None, STATE),
        (MIAMI, "2025-07-02 00:00", False, "2025-07-02 12:00", STATE),
        (MIAMI, "2025-07-02 00:00", True, None, {}),
        # 850: 20:00 EDT closes, 08:00 CDT (13:00 UTC) opens.
        (PANHANDLE, "2025-07-02 00:00", False, "2025-07-02 13:00", STATE),
        # Connecticut 09:00-20:00: 09:00 EDT = 13:00 UTC.
        ("+12032220100", "2025-07-01 12:59", False, "2025-07-01 13:00", STATE),
        # Texas: Sunday from 12:00 (CDT: 17:00 UTC), Monday-Saturday from 09:00 (14:00 UTC).
        ("+12142220100", "2025-07-06 16:59", False, "2025-07-06 17:00", STATE),
        ("+12142220100", "2025-07-07 13:59", False, "2025-07-07 14:00", STATE),
        ("+12142220100", "2025-07-05 14:00", True, None, STATE),
        (
            "+12142220100",
            "2025-07-06 16:59",
            False,
            "2025-07-06 17:00",
            {**STATE, "channel": "sms"},
        ),
        # El Paso is Mountain (MDT, UTC-6): Sunday noon is 18:00 UTC.
        ("+19159330100", "2025-07-06 17:59", False, "2025-07-06 18:00", STATE),
        # Alabama (CDT/CST): no Sundays, no holidays, observed days included.
        ("+12052220100", "2025-07-06 15:00", False, "2025-07-07 13:00", STATE),
        (
            "+12052220100",
            "2025-07-06 15:00",
            False,
            "2025-07-07 13:00",
            {**STATE, "channel": "sms"},
        ),
        ("+12052220100", "2025-07-06 15:00", True, None, {}),
        ("+12052220100", "2025-12-25 15:00", False, "2025-12-26 14:00", STATE),
        ("+12052220100", "2025-04-28 15:00", False, "2025-04-29 13:00", STATE),  # Confederate Mem.
        ("+12052220100", "2025-06-02 15:00", False, "2025-06-03 13:00", STATE),  # Jefferson Davis
        # July 4 2026 is a Saturday: Friday 3rd (observed), Saturday and Sunday are closed.
        ("+12052220100", "2026-07-03 15:00", False, "2026-07-06 13:00", STATE),
        ("+12052220100", "2025-12-27 15:00", True, None, STATE),
        # Louisiana: LPSC holidays (Mardi Gras, not Memorial Day), governor-declared days.
        ("+15042220100", "2025-03-04 15:00", False, "2025-03-05 14:00", STATE),
        ("+15042220100", "2025-05-26 15:00", True, None, STATE),
        ("+15042220100", "2023-07-03 15:00", False, "2023-07-05 13:00", STATE),
        ("+15042220100", "2025-07-06 15:00", False, "2025-07-07 13:00", STATE),
        # Mississippi, read in Central Standard Time too: in summer 09:00-20:00 CDT
        # (14:00-01:00 UTC); in winter 08:00-20:00 CST (14:00-02:00 UTC). No Sundays; the
        # holiday ban was lifted.
        ("+16012220100", "2025-07-12 13:30", False, "2025-07-12 14:00", STATE),
        ("+16012220100", "2025-07-13 00:59", True, None, STATE),
        ("+16012220100", "2025-07-13 01:00", False, "2025-07-14 14:00", STATE),
        ("+16012220100", "2025-01-11 14:00", True, None, STATE),
        ("+16012220100", "2025-01-12 01:59", True, None, STATE),
        ("+16012220100", "2025-01-12 02:00", False, "2025-01-13 14:00", STATE),
        ("+16012220100", "2025-12-25 15:00", True, None, STATE),
        # Utah (MDT, UTC-6): Pioneer Day and Sundays closed.
        ("+18012220100", "2025-07-24 15:00", False, "2025-07-25 14:00", STATE),
        ("+18012220100", "2025-07-06 15:00", False, "2025-07-07 14:00", STATE),
        # Rhode Island (EDT): weekdays 09:00-18:00, Saturday 10:00-17:00, no Sunday, no holidays.
        ("+14012220100", "2025-07-01 12:59", False, "2025-07-01 13:00", STATE),
        ("+14012220100", "2025-07-01 21:59", True, None, STATE),
        ("+14012220100", "2025-07-01 22:00", False, "2025-07-02 13:00", STATE),
        ("+14012220100", "2025-07-05 13:59", False, "2025-07-05 14:00", STATE),
        ("+14012220100", "2025-07-05 20:59", True, None, STATE),
        ("+14012220100", "2025-07-05 21:00", False, "2025-07-07 13:00", STATE),
        ("+14012220100", "2025-08-11 14:00", False, "2025-08-12 13:00", STATE),  # Victory Day
        ("+14012220100", "2026-07-03 14:00", False, "2026-07-06 13:00", STATE),
        # Pennsylvania: its holiday list (Good Friday, Flag Day, Election Day; not
        # Juneteenth), and no Sunday rule.
        ("+12152220100", "2025-04-18 14:00", False, "2025-04-19 12:00", STATE),
        ("+12152220100", "2025-06-14 14:00", False, "2025-06-15 12:00", STATE),
        ("+12152220100", "2025-11-04 14:00", False, "2025-11-05 13:00", STATE),
        ("+12152220100", "2025-06-19 14:00", True, None, STATE),
        ("+12152220100", "2025-07-06 14:00", True, None, STATE),
        # Nebraska: prerecorded calls on Sundays and holidays only 13:00-21:00 (CDT: 18:00
        # UTC); a text is not a prerecorded call.
        ("+14022220100", "2025-07-06 14:00", False, "2025-07-06 18:00", STATE),
        ("+14022220100", "2025-07-06 14:00", True, None, {**STATE, "channel": "sms"}),
        ("+14022220100", "2025-05-26 14:00", False, "2025-05-26 18:00", STATE),
        # Kentucky 10:00-21:00 on 270 (New York and Chicago): 10:00 CDT = 15:00 UTC.
        ("+12702220100", "2025-07-01 14:30", False, "2025-07-01 15:00", STATE),
        # No state rules outside the US, for territories, or without a state.
        ("+14162220100", "2025-07-01 12:00", True, None, STATE),  # Toronto, 08:00 EDT
        ("+17872220100", "2025-07-06 15:00", True, None, STATE),  # Puerto Rico, Sunday
        ("+12015550100", "2025-07-06 12:00", True, None, STATE),  # NJ/NY, no rules
        (TOLL_FREE, "2025-07-06 15:00", True, None, {**STATE, "explicit_tz": "America/Chicago"}),
        # The prospect's address state counts too: a New York number, owner in Florida.
        (NY, "2025-07-02 00:00", False, "2025-07-02 12:00", {**STATE, "address_state": "fl"}),
        (NY, "2025-07-02 00:00", True, None, STATE),
    ],
)
def test_state_policy(phone, at, allowed, next_at, kwargs):
    assert_verdict(phone, at, allowed, next_at, **kwargs)


def test_state_reasons_name_the_rule():
    assert verdict("+12052220100", "2025-07-06 15:00", **STATE).reason == (
        "Sun 2025-07-06 10:00 in America/Chicago is outside Alabama: no calls on Sundays"
    )
    assert verdict("+12052220100", "2025-12-25 15:00", **STATE).reason == (
        "Thu 2025-12-25 09:00 in America/Chicago is outside "
        "Alabama: no calls on holidays (Christmas Day)"
    )
    assert verdict("+16012220100", "2025-07-12 13:30", **STATE).reason == (
        "Sat 2025-07-12 07:30 in Etc/GMT+6 is outside Mississippi: 08:00-20:00 on Saturdays"
    )


@pytest.mark.parametrize(
    "calendar, dates",
    [
        ("AL", "01-01 01-20 02-17 04-28 05-26 06-02 06-19 07-04 09-01 10-13 11-11 11-27 12-25"),
        ("UT", "01-01 01-20 02-17 05-26 06-19 07-04 07-24 09-01 10-13 11-11 11-27 12-25"),
        ("RI", "01-01 01-20 02-17 05-26 06-19 07-04 08-11 09-01 10-13 11-11 11-27 12-25"),
        ("PA", "01-01 01-20 02-17 04-18 05-26 06-14 07-04 09-01 10-13 11-04 11-11 11-27 12-25"),
        ("LA", "01-01 01-20 03-04 04-18 07-04 09-01 11-11 11-27 12-25"),
    ],
)
def test_holiday_calendars_2025(calendar, dates):
    expected = {dt.date.fromisoformat(f"2025-{d}") for d in dates.split()}
    assert set(holiday_calendar(calendar, 2025)) == expected


def test_state_rules_are_well_formed():
    for rule in STATE_RULES.values():
        assert len(rule.week) == 7
        for span in (*rule.week, rule.on_holidays):
            assert span is None or 0 <= span[0] < span[1] <= 1440
        assert rule.channels and rule.channels <= {"voice", "sms"}
        if rule.calendar:
            assert holiday_calendar(rule.calendar, 2026)


# --- Campaign windows -----------------------------------------------------------------------

WEEKDAYS_9_TO_5 = [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}]
TUESDAY_SPLIT = [
    {"days": ["tue"], "start": "09:00", "end": "12:00"},
    {"days": ["tue"], "start": "13:00", "end": "17:00"},
]


@pytest.mark.parametrize(
    "at, allowed, next_at, raw",
    [
        # New York, EDT: a Friday 17:00 waits for Monday 09:00 = 13:00 UTC.
        ("2025-07-04 20:59", True, None, WEEKDAYS_9_TO_5),
        ("2025-07-04 21:00", False, "2025-07-07 13:00", WEEKDAYS_9_TO_5),
        # Two windows on one day; other days have none.
        ("2025-07-01 16:30", False, "2025-07-01 17:00", TUESDAY_SPLIT),
        ("2025-07-01 21:00", False, "2025-07-08 13:00", TUESDAY_SPLIT),
        # Overlapping windows are their union.
        (
            "2025-07-01 16:30",
            True,
            None,
            [{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "14:00"}],
        ),
        # "24:00" ends the day, but the policy still ends at 21:00: 20:00-21:00 remains.
        ("2025-07-02 00:30", True, None, [{"start": "20:00", "end": "24:00"}]),
        ("2025-07-02 01:00", False, "2025-07-03 00:00", [{"start": "20:00", "end": "24:00"}]),
        # A window wider than the policy's is cut to it: 06:00-09:00 is 08:00-09:00.
        ("2025-07-01 11:00", False, "2025-07-01 12:00", [{"start": "06:00", "end": "09:00"}]),
    ],
)
def test_campaign_windows_narrow_the_policy(at, allowed, next_at, raw):
    found = assert_verdict(NY, at, allowed, next_at, windows=raw)
    assert check(NY, utc(at), windows=windows.parse_windows(raw)) == found


def test_no_allowed_time_within_the_horizon():
    # Sunday-only windows for an Alabama number under the state policy: never.
    found = verdict(
        "+12052220100",
        "2025-07-01 15:00",
        policy="state",
        windows=[{"days": ["sun"], "start": "09:00", "end": "17:00"}],
    )
    assert (found.allowed, found.next_allowed_at) == (False, None)
    assert found.reason.endswith("no allowed time in the next 14 days")


def test_parse_windows():
    assert windows.parse_windows(
        [
            {"days": ["mon", "sun"], "start": "09:30", "end": "24:00"},
            {"start": "00:00", "end": "01:00"},
        ]
    ) == (Window(570, 1440, frozenset({0, 6})), Window(0, 60))
    assert windows.parse_window("09:00-17:00") == Window(540, 1020)
    assert windows.parse_window(" 9:00 \u2013 17:30 ") == Window(540, 1050)


@pytest.mark.parametrize(
    "raw",
    [
        [{"start": "9", "end": "17:00"}],
        [{"start": "09:00", "end": "09:00"}],
        [{"start": "17:00", "end": "09:00"}],
        [{"start": "24:00", "end": "24:00"}],
        [{"start": "09:00", "end": "24:01"}],
        [{"start": "09:60", "end": "10:00"}],
        [{"days": ["funday"], "start": "09:00", "end": "10:00"}],
        [{"days": [], "start": "09:00", "end": "10:00"}],
        [{"end": "10:00"}],
    ],
)
def test_bad_windows_are_refused(raw):
    with pytest.raises(ValueError):
        windows.parse_windows(raw)
    with pytest.raises(ValueError):
        verdict(NY, "2025-07-01 12:00", windows=raw)


@pytest.mark.parametrize("text", ["9-17", "09:00", "09:00-", "17:00-09:00", "25:00-26:00", ""])
def test_bad_window_text_is_refused(text):
    with pytest.raises(ValueError):
        windows.parse_window(text)


# --- eligible_zones -------------------------------------------------------------------------

UNIVERSE = [
    "America/New_York",
    "America/Chicago",
    "America/Phoenix",
    "Asia/Kolkata",
    "Asia/Calcutta",
    "Europe/London",
    "Asia/Tokyo",
    "Etc/Unknown",
    "Not/A_Zone",
]


def test_eligible_zones_at_an_instant():
    # 12:30 UTC on Tue 2025-07-01: New York 08:30, Chicago 07:30, Phoenix 05:30, Kolkata
    # 18:00, London 13:30, Tokyo 21:30.
    at = utc("2025-07-01 12:30")
    assert eligible_zones(at, UNIVERSE) == {
        "America/New_York",
        "Asia/Kolkata",
        "Asia/Calcutta",
        "Europe/London",
    }
    assert eligible_zones(at, UNIVERSE, "state") == eligible_zones(at, UNIVERSE, "federal")
    everywhere = eligible_zones(at)
    assert everywhere >= eligible_zones(at, UNIVERSE)
    assert "America/Chicago" not in everywhere and "Etc/Unknown" not in everywhere


def test_eligible_zones_with_campaign_windows():
    # 13:30 UTC Tuesday: New York 09:30 and London 14:30 are inside 09:00-17:00; Chicago
    # (08:30), Kolkata (19:00) and Tokyo (22:30) are not.
    at = utc("2025-07-01 13:30")
    got = eligible_zones(at, UNIVERSE, policy="federal", windows=WEEKDAYS_9_TO_5, channel="sms")
    assert got == {"America/New_York", "Europe/London"}
    # Saturday: no window at all.
    assert eligible_zones(utc("2025-07-05 13:30"), UNIVERSE, windows=WEEKDAYS_9_TO_5) == set()


def test_a_zone_in_its_repeated_hour_is_not_eligible():
    # 02:30 UTC on 1975-03-09 is 20:30 (first time) on Easter Island.
    assert eligible_zones(utc("1975-03-09 02:30"), ["Pacific/Easter"]) == set()
    assert eligible_zones(utc("1975-03-09 01:30"), ["Pacific/Easter"]) == {"Pacific/Easter"}


def test_eligible_zones_agree_with_check_across_a_dst_weekend():
    t = utc("2025-11-01 00:00")
    while t < utc("2025-11-04 00:00"):
        for phone in (PANHANDLE, ALASKA, NAVAJO, AU_MOBILE):
            zones = possible_zones(phone)
            assert check(phone, t).allowed == (set(zones) <= eligible_zones(t, zones)), (phone, t)
        t += dt.timedelta(minutes=10)


# --- The interval search against a brute-force scan -----------------------------------------


def _brute_open(t: dt.datetime, zones, raw_windows) -> bool:
    """Independent reading of the rules: federal 08:00-21:00 and the campaign's windows."""
    for name in zones:
        local = t.astimezone(ZoneInfo(name))
        if local.replace(fold=0).utcoffset() != local.replace(fold=1).utcoffset():
            return False  # a repeated (or skipped) wall time
        minute = local.hour * 60 + local.minute
        if not 480 <= minute < 1260:
            return False
        if raw_windows:
            day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[local.weekday()]
            if not any(
                day in w.get("days", [day])
                and windows.parse_time(w["start"])
                <= minute
                < windows.parse_time(w["end"], end=True)
                for w in raw_windows
            ):
                return False
    return True


@pytest.mark.parametrize(
    "phone, explicit, start, raw",
    [
        (NY, "", "2025-03-08", []),
        (NY, "", "2025-11-01", TUESDAY_SPLIT),
        (PANHANDLE, "", "2025-11-01", WEEKDAYS_9_TO_5),
        (ALASKA, "", "2025-03-08", []),
        (AU_MOBILE, "", "2025-04-04", []),
        (AU_MOBILE, "", "2025-10-03", [{"start": "08:30", "end": "12:15"}]),
        (LONDON, "Asia/Kolkata", "2025-03-29", []),
        (TOLL_FREE, "Pacific/Easter", "1975-03-07", []),
        (TOLL_FREE, "Australia/Lord_Howe", "2025-04-05", []),  # a 30-minute DST shift
        (SUDAN, "", "2000-01-14", [{"start": "11:45", "end": "13:30"}]),
    ],
)
def test_next_allowed_matches_a_minute_by_minute_scan(phone, explicit, start, raw):
    zones = possible_zones(phone, explicit)
    t0 = utc(f"{start} 00:00")
    minutes = 4 * 24 * 60
    is_open = [_brute_open(t0 + dt.timedelta(minutes=m), zones, raw) for m in range(minutes)]
    for m in range(0, 3 * 24 * 60, 7):
        at = t0 + dt.timedelta(minutes=m)
        found = check(phone, at, windows=raw, explicit_tz=explicit)
        assert found.allowed == is_open[m], at
        if is_open[m]:
            continue
        first = next((k for k in range(m, minutes) if is_open[k]), None)
        if first is not None:
            assert found.next_allowed_at == t0 + dt.timedelta(minutes=first), at
