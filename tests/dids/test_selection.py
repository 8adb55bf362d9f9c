"""Choosing the caller ID for a call: eligibility, filter, order, and the stamp of its use."""

from datetime import UTC, datetime, timedelta

from dids.selection import did_select_for_call
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
