"""Choosing the caller ID for a call: eligibility, filter, order, and the stamp of its use."""

from datetime import UTC, datetime, timedelta

from dids.selection import did_select_for_call, dids_select_for_calls
from tests.factories import DidFactory

NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)


def pick(org, to="+14155550101", caller_id_filter=None, now=NOW, e164=""):
    did = did_select_for_call(
        org_id=org.id, to=to, caller_id_filter=caller_id_filter or {}, now=now, e164=e164
    )
    return did.e164 if did else None


def test_same_area_code_first_then_health_then_least_recently_used(org):
    DidFactory(organization=org, e164="+12125550001", area_code="212", health_score=1.0)
    DidFactory(organization=org, e164="+14155550001", area_code="415", health_score=0.8)
    DidFactory(
        organization=org,
        e164="+14155550002",
        area_code="415",
        health_score=0.9,
        last_call_at=NOW - timedelta(minutes=1),
    )
    DidFactory(
        organization=org,
        e164="+14155550003",
        area_code="415",
        health_score=0.9,
        last_call_at=NOW - timedelta(minutes=5),
    )
    assert pick(org) == "+14155550003"  # same area, healthiest, used longest ago
    assert pick(org, now=NOW + timedelta(seconds=1)) == "+14155550002"  # the stamp moved it
    assert pick(org, to="+13125550101") == "+12125550001"  # no 312 number: healthiest


def test_only_active_healthy_voice_numbers_of_the_org_within_the_filter(org, other_org):
    DidFactory(organization=other_org, e164="+14155559999", area_code="415")
    DidFactory(organization=org, e164="+14155550001", area_code="415", state="cooling")
    DidFactory(organization=org, e164="+14155550002", area_code="415", health_score=0.69)
    DidFactory(organization=org, e164="+14155550003", area_code="415", voice_enabled=False)
    assert pick(org) is None

    DidFactory(organization=org, e164="+16465550001", area_code="646", region="US")
    DidFactory(organization=org, e164="+14155550004", area_code="415", region="US")
    assert pick(org, caller_id_filter={"area_codes": ["646"]}) == "+16465550001"
    assert pick(org, caller_id_filter={"regions": ["CA"]}) is None
    assert pick(org) == "+14155550004"


def test_choosing_stamps_last_call_at(org):
    did = DidFactory(organization=org, e164="+14155550001", area_code="415")
    pick(org)
    did.refresh_from_db()
    assert did.last_call_at == NOW


def test_a_named_caller_id_is_used_only_when_it_is_eligible(org, other_org):
    DidFactory(organization=org, e164="+14155550001", area_code="415")
    DidFactory(organization=org, e164="+12125550001", area_code="212", last_call_at=NOW)
    DidFactory(organization=org, e164="+12125550002", area_code="212", health_score=0.5)
    DidFactory(organization=other_org, e164="+13125550001", area_code="312")

    assert pick(org, e164="+12125550001") == "+12125550001"  # not the same-area one
    assert pick(org, e164="+12125550002") is None  # unhealthy
    assert pick(org, e164="+13125550001") is None  # another org's


def picks(org, n, *, to="+14155550101", now=NOW, batch=1):
    """n picks in batches of `batch`, a second apart: the chosen numbers in order."""
    out = []
    for i in range(0, n, batch):
        chosen = dids_select_for_calls(
            org_id=org.id,
            tos=[to] * min(batch, n - i),
            caller_id_filter={},
            now=now + timedelta(seconds=i),
        )
        out += [c.e164 if c else None for c in chosen]
    return out


def test_among_equally_healthy_the_least_used_today_goes_first(org):
    # 0.91 and 0.94 are equals (DID_HEALTH_TIE_BAND 0.05); 0.99 is healthier.
    busy = DidFactory(
        organization=org, e164="+14155550001", health_score=0.94, calls_today=7,
        calls_today_on=NOW.date(), last_call_at=NOW - timedelta(hours=3),
    )  # fmt: skip
    DidFactory(
        organization=org, e164="+14155550002", health_score=0.91, calls_today=2,
        calls_today_on=NOW.date(), last_call_at=NOW - timedelta(minutes=1),
    )  # fmt: skip
    assert pick(org) == "+14155550002"  # fewer calls today, though used more recently
    busy.calls_today_on = NOW.date() - timedelta(days=1)  # yesterday's count: none today
    busy.save()
    assert pick(org, now=NOW + timedelta(seconds=1)) == "+14155550001"
    busy.refresh_from_db()
    assert (busy.calls_today, busy.calls_today_on) == (1, NOW.date())


def test_a_caller_id_at_its_daily_cap_is_skipped_until_tomorrow(org, settings):
    settings.DID_DAILY_CALL_CAP = 3
    DidFactory(organization=org, e164="+14155550001")
    DidFactory(organization=org, e164="+14155550002")
    chosen = picks(org, 8, batch=4)
    assert sorted(c for c in chosen if c) == ["+14155550001"] * 3 + ["+14155550002"] * 3
    assert chosen[-2:] == [None, None]  # both capped: no caller ID for these calls today
    tomorrow = NOW.replace(hour=0) + timedelta(days=1)
    assert picks(org, 2, now=tomorrow) == ["+14155550001", "+14155550002"]


def test_no_healthy_caller_id_is_none_for_the_whole_batch(org):
    assert (
        dids_select_for_calls(org_id=org.id, tos=["+1"] * 3, caller_id_filter={}, now=NOW) is None
    )


def test_a_caller_id_back_in_rotation_takes_a_growing_share_until_the_ramp_is_over(org, settings):
    settings.DID_RAMP_CALLS, settings.DID_RAMP_MIN_SHARE = 20, 0.1
    back = DidFactory(organization=org, e164="+14155550009", ramp_calls=0)
    for n in range(3):
        DidFactory(organization=org, e164=f"+1415555000{n}")
    chosen = picks(org, 500, batch=10)
    taken = [i for i, e164 in enumerate(chosen) if e164 == back.e164]
    # Without a ramp it would take every fourth call. With it: one in forty at first, then
    # closer and closer, and its full share once the ramp (20 calls) is over.
    gaps = [b - a for a, b in zip(taken, taken[1:], strict=False)]
    assert gaps[:2] == [40, 40]
    assert gaps[0] > gaps[9] > gaps[17] and min(gaps[:19]) >= 4  # never beyond its share
    assert sum(1 for i in taken if i < 100) == 2
    assert 24 <= sum(1 for i in taken if i >= 400) <= 26
    back.refresh_from_db()
    assert back.ramp_calls is None


def test_a_ramping_caller_id_alone_in_its_area_still_gives_way_to_the_others(org):
    back = DidFactory(organization=org, e164="+16465550009", area_code="646", ramp_calls=0)
    DidFactory(organization=org, e164="+14155550001")
    chosen = picks(org, 20, to="+16465550101")
    assert chosen.count(back.e164) <= 3  # same area, but ramping: mostly the other one
    assert None not in chosen
