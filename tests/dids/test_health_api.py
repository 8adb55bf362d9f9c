"""Caller-ID health over the API: GET /api/v1/dids/health/, GET /api/v1/dids/health/report/ and
POST /api/v1/dids/{id}/release/."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import CallAttempt
from dids.models import Did
from dids.selectors import did_pool_report_get
from orgs.models import Scope
from tests.factories import DidFactory

HEALTH = "/api/v1/dids/health/"
REPORT = "/api/v1/dids/health/report/"
NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)
CLEAN = dict.fromkeys(
    ("answer_rate", "duration", "engagement", "no_answer_trend", "spam_clean"), 1.0
)


def release(did) -> str:
    return f"/api/v1/dids/{did.pk}/release/"


def window(calls, answered, humans, seconds, no_answer, spam=0) -> dict:
    """A caller ID's sums over the calls in its score's window."""
    return {
        "health_calls": calls,
        "health_answered": answered,
        "health_humans": humans,
        "health_seconds": seconds,
        "health_no_answer": no_answer,
        "health_spam": spam,
    }


def snapshot(did) -> dict:
    return Did.objects.filter(pk=did.pk).values().get()


# --- GET /api/v1/dids/health/ -----------------------------------------------------------------


@pytest.fixture
def pool(org, other_org):
    """Four caller IDs of `org`, each in another state of health, and one of the other org."""
    today = timezone.now().date()
    cooling_until = timezone.now() + timedelta(hours=1)
    DidFactory(organization=other_org, e164="+12125550000")
    return {
        # A full window: answer 25/50, 1,500 s / 50 calls / 60 s, engagement 20/25,
        # no answer 15/50, spam 5/50.
        "worn": DidFactory(
            organization=org,
            e164="+12125550001",
            health_warning=True,
            **window(50, 25, 20, 1500, 15, 5),
            calls_today=7,
            calls_today_on=today,
        ),
        "new": DidFactory(
            organization=org,
            e164="+12125550002",
            calls_today=9,
            calls_today_on=today - timedelta(1),
        ),
        "cooling": DidFactory(
            organization=org, e164="+12125550003", state="cooling", cooldown_until=cooling_until
        ),
        # Back from a cooldown, on probation (no clean calls added): 4 calls, 2 answered by a
        # person for 60 s each, 2 unanswered.
        "ramping": DidFactory(
            organization=org,
            e164="+12125550004",
            cooldowns=1,
            ramp_calls=4,
            **window(4, 2, 2, 120, 2),
        ),
    }


def test_each_caller_id_with_its_score_components_and_lifecycle(api, pool):
    response = api.get(HEALTH)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4
    worn, new, cooling, ramping = body["results"]  # by number
    assert worn == {
        "id": pool["worn"].pk,
        "e164": "+12125550001",
        "state": "active",
        "warning": True,
        # 0.3 * 0.5 + 0.25 * 0.5 + 0.2 * 0.8 + 0.15 * 0.7 + 0.1 * 0.9
        "score": 0.63,
        "components": {
            "answer_rate": 0.5,
            "duration": 0.5,
            "engagement": 0.8,
            "no_answer_trend": 0.7,
            "spam_clean": 0.9,
        },
        "health_calls": 50,
        "cooldown_until": None,
        "ramp_calls": None,
        "calls_today": 7,
    }
    assert new == {
        "id": pool["new"].pk,
        "e164": "+12125550002",
        "state": "active",
        "warning": False,
        "score": 1.0,  # no history
        "components": CLEAN,
        "health_calls": 0,
        "cooldown_until": None,
        "ramp_calls": None,
        "calls_today": 0,  # yesterday's
    }
    assert (cooling["state"], cooling["ramp_calls"]) == ("cooling", None)
    assert datetime.fromisoformat(cooling["cooldown_until"]) == pool["cooling"].cooldown_until
    # Back from a cooldown with 4 calls, fewer than probation needs to judge it: the score it
    # came back with, though its components already show those calls.
    assert (ramping["ramp_calls"], ramping["health_calls"], ramping["score"]) == (4, 4, 1.0)
    assert ramping["components"] == {
        **CLEAN,
        "answer_rate": 0.5,
        "duration": 0.5,
        "no_answer_trend": 0.5,
    }


def test_filtered_by_state_and_paginated(api, pool):
    def ids(**params) -> list[int]:
        return [row["id"] for row in api.get(HEALTH, params).json()["results"]]

    assert ids(state="cooling") == [pool["cooling"].pk]
    assert ids(state__in="cooling,active", page_size=2) == [pool["worn"].pk, pool["new"].pk]
    page = api.get(HEALTH, {"page_size": 3, "page": 2}).json()
    assert (page["count"], [r["id"] for r in page["results"]]) == (4, [pool["ramping"].pk])
    assert api.get(HEALTH, {"state": "gone"}).status_code == 400


def test_another_orgs_caller_ids_never_appear(api, other_api, pool, other_org):
    assert {row["e164"] for row in api.get(HEALTH).json()["results"]} == {
        f"+1212555000{i}" for i in range(1, 5)
    }
    theirs = other_api.get(HEALTH).json()["results"]
    assert [row["e164"] for row in theirs] == ["+12125550000"]


def test_the_list_runs_a_constant_number_of_queries(api, org):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(HEALTH).status_code == 200
        return len(ctx)

    DidFactory.create_batch(3, organization=org)
    count()
    few = count()
    DidFactory.create_batch(27, organization=org, state="cooling")
    assert count() == few <= 3


# --- GET /api/v1/dids/health/report/ ----------------------------------------------------------


def campaign_calls(campaign, did, n: int, *, at: datetime, pool: str = "campaign") -> None:
    CallAttempt.objects.bulk_create(
        CallAttempt(
            organization=campaign.organization,
            campaign=campaign,
            pool=pool,
            to="+18005550101",
            did=did,
            created_at=at,
        )
        for _ in range(n)
    )


def build_pool(org, campaign, *, now: datetime) -> dict:
    """One warming, six active (two warned), two cooling, four burned (three of them in the
    last 7 days), one retired; campaign traffic of the last day 6 : 3 : 1."""
    dids = {"warming": DidFactory(organization=org, state="warming")}
    dids["a"], dids["b"], dids["c"] = (
        DidFactory(organization=org, e164=e164, health_warning=warned)
        for e164, warned in (
            ("+12125551001", True),
            ("+12125551002", True),
            ("+12125551003", False),
        )
    )
    DidFactory.create_batch(3, organization=org)
    DidFactory(organization=org, state="cooling", health_warning=True)  # not counted: cooling
    DidFactory(organization=org, state="cooling")
    for days in (1, 3, 6.9, 8):
        DidFactory(organization=org, state="burned", burned_at=now - timedelta(days=days))
    DidFactory(organization=org, state="retired")
    hour_ago = now - timedelta(hours=1)
    campaign_calls(campaign, dids["a"], 6, at=hour_ago)
    campaign_calls(campaign, dids["b"], 2, at=hour_ago)
    campaign_calls(campaign, dids["b"], 1, at=now - timedelta(hours=23, minutes=59))
    campaign_calls(campaign, dids["c"], 1, at=now)
    campaign_calls(campaign, dids["c"], 5, at=now - timedelta(hours=25))  # before the day
    campaign_calls(campaign, dids["c"], 4, at=hour_ago, pool="api")  # not campaign traffic
    campaign_calls(campaign, None, 4, at=hour_ago)  # no caller ID (refused before one)
    return dids


@pytest.fixture
def other_pool(other_campaign):
    """The other org's pool, busy and burning at NOW and now, never in `org`'s numbers."""
    theirs = DidFactory(organization=other_campaign.organization, e164="+12125559999")
    for now in (NOW, timezone.now()):
        DidFactory(organization=other_campaign.organization, state="burned", burned_at=now)
        campaign_calls(other_campaign, theirs, 50, at=now - timedelta(hours=1))


def test_the_pools_numbers_at_a_fixed_time(org, campaign, other_pool):
    dids = build_pool(org, campaign, now=NOW)

    report = did_pool_report_get(org=org, now=NOW)

    assert report.counts == {"warming": 1, "active": 6, "cooling": 2, "burned": 4, "retired": 1}
    assert report.active_with_warning == 2
    assert [(t.id, t.e164, t.calls, t.share) for t in report.traffic] == [
        (dids["a"].pk, "+12125551001", 6, 0.6),
        (dids["b"].pk, "+12125551002", 3, 0.3),
        (dids["c"].pk, "+12125551003", 1, 0.1),
    ]
    assert report.burned_last_7_days == 3
    assert report.burn_rate_per_day == round(3 / 7, 4)
    assert report.runs_out_at == NOW + timedelta(days=14)  # 6 active / (3 / 7 a day)


def test_nothing_burning_means_no_end_in_sight(org, other_pool):
    DidFactory(organization=org, state="burned", burned_at=NOW - timedelta(days=7))
    DidFactory(organization=org)

    report = did_pool_report_get(org=org, now=NOW)

    assert (report.burned_last_7_days, report.burn_rate_per_day) == (0, 0.0)
    assert report.runs_out_at is None
    assert report.traffic == []


def test_burning_with_nothing_active_has_run_out_already(org):
    DidFactory(organization=org, state="burned", burned_at=NOW - timedelta(hours=1))
    assert did_pool_report_get(org=org, now=NOW).runs_out_at == NOW


def test_the_report_over_the_api(api, org, campaign, other_pool):
    before = timezone.now()
    dids = build_pool(org, campaign, now=before)

    response = api.get(REPORT)

    after = timezone.now()
    assert response.status_code == 200
    body = response.json()
    runs_out_at = datetime.fromisoformat(body.pop("runs_out_at"))
    assert before + timedelta(days=14) <= runs_out_at <= after + timedelta(days=14)
    assert body == {
        "counts": {"warming": 1, "active": 6, "cooling": 2, "burned": 4, "retired": 1},
        "active_with_warning": 2,
        "traffic": [
            {"id": dids["a"].pk, "e164": "+12125551001", "calls": 6, "share": 0.6},
            {"id": dids["b"].pk, "e164": "+12125551002", "calls": 3, "share": 0.3},
            {"id": dids["c"].pk, "e164": "+12125551003", "calls": 1, "share": 0.1},
        ],
        "burned_last_7_days": 3,
        "burn_rate_per_day": 0.4286,
    }


def test_an_empty_pool_reports_every_state(api):
    assert api.get(REPORT).json() == {
        "counts": {"warming": 0, "active": 0, "cooling": 0, "burned": 0, "retired": 0},
        "active_with_warning": 0,
        "traffic": [],
        "burned_last_7_days": 0,
        "burn_rate_per_day": 0.0,
        "runs_out_at": None,
    }


# --- POST /api/v1/dids/{id}/release/ ----------------------------------------------------------


def cooling(org) -> Did:
    return DidFactory(
        organization=org,
        state="cooling",
        cooldown_until=timezone.now() + timedelta(hours=2),
        cooldowns=1,
        **window(30, 5, 5, 200, 5, spam=20),
    )


def test_release_ends_the_cooldown_now_on_a_ramp(api, org):
    did = cooling(org)

    response = api.post(release(did))

    assert response.status_code == 200, response.content
    assert response.json() == {
        "id": did.pk,
        "e164": did.e164,
        "state": "active",
        "warning": False,
        "score": 1.0,  # judged afresh on its calls from now on
        "components": CLEAN,
        "health_calls": 0,
        "cooldown_until": None,
        "ramp_calls": 0,
        "calls_today": 0,
    }
    did.refresh_from_db()
    assert (did.state, did.cooldown_until, did.ramp_calls) == ("active", None, 0)
    assert did.health_since is not None


@pytest.mark.parametrize("state", ["warming", "active", "burned", "retired"])
def test_release_of_a_caller_id_not_cooling_is_a_409_naming_its_state(api, org, state):
    did = DidFactory(organization=org, state=state)
    before = snapshot(did)

    response = api.post(release(did))

    assert response.status_code == 409
    assert response.json() == {
        "detail": f"Cannot release a caller ID that is {state}.",
        "code": "invalid_transition",
        "state": state,
    }
    assert snapshot(did) == before


def test_release_of_another_orgs_caller_id_is_not_found(api, other_org):
    theirs = cooling(other_org)
    before = snapshot(theirs)

    response = api.post(release(theirs))

    assert response.status_code == 404
    assert "state" not in response.json()
    assert snapshot(theirs) == before


def test_only_post_releases(api, org):
    did = cooling(org)
    assert api.get(release(did)).status_code == 405
    assert Did.objects.get(pk=did.pk).state == "cooling"


# --- Scopes and schema ------------------------------------------------------------------------


@pytest.mark.parametrize("path", [HEALTH, REPORT])
def test_reading_health_needs_a_dids_scope(client_with_scopes, org, path):
    everything_else = [s for s in Scope.values if s not in ("dids:read", "dids:manage")]
    response = client_with_scopes(*everything_else).get(path)
    assert response.status_code == 403
    assert "dids:read" in response.json()["detail"]
    assert client_with_scopes(Scope.DIDS_READ).get(path).status_code == 200


def test_releasing_needs_dids_manage(client_with_scopes, org):
    did = cooling(org)
    response = client_with_scopes(Scope.DIDS_READ).post(release(did))
    assert response.status_code == 403
    assert "dids:manage" in response.json()["detail"]
    assert Did.objects.get(pk=did.pk).state == "cooling"
    assert client_with_scopes(Scope.DIDS_MANAGE).post(release(did)).status_code == 200


def test_the_schema_documents_the_health_endpoints(db):
    schema = Client().get("/api/schema/", {"format": "json"}).json()
    paths, components = schema["paths"], schema["components"]["schemas"]
    listing = paths["/api/v1/dids/health/"]["get"]
    assert listing["operationId"] == "dids_health_list"
    assert {"state", "page"} <= {p["name"] for p in listing["parameters"]}
    page = listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert page.endswith("/PaginatedDidHealthList")
    report = paths["/api/v1/dids/health/report/"]["get"]
    assert report["operationId"] == "dids_health_report"
    assert set(components["DidPoolReport"]["properties"]) >= {"counts", "traffic", "runs_out_at"}
    released = paths["/api/v1/dids/{id}/release/"]["post"]
    assert released["operationId"] == "dids_release"
    assert {"200", "409"} <= set(released["responses"])
    assert "requestBody" not in released
    assert set(components["DidHealth"]["properties"]["components"]) == {"$ref"}
