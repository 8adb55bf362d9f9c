"""/api/v1/calls/: one-off calls on the api pool, placed through the simulated carrier, with
every guardrail of a campaign's calls; reading them back once their outcome is settled."""

import socket
import threading
import zoneinfo
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from campaigns.models import CallAttempt
from campaigns.voice.outcomes import attempts_settle
from config.events import events_read, org_stream
from config.redis import get_redis
from dids.models import Did
from messaging.models import CarrierCall
from messaging.providers import get_provider
from orgs.models import ALL_SCOPES
from prospects.models import Prospect, Suppression
from tests.factories import (
    CampaignFactory,
    DidFactory,
    OneOffCallFactory,
    make_key,
    make_prospect,
)
from tests.waiting import in_thread

CALLS = "/api/v1/calls/"
# Toll-free: no zone of its own, so the calling window follows the `timezone` given.
TOLL_FREE = "+18005550101"
TWIML_URL = "https://example.com/answer.xml"


def zone_at(hours: range) -> str:
    """A time zone whose local hour is now in `hours`."""
    now = datetime.now(UTC)
    for name in sorted(zoneinfo.available_timezones()):
        if name.startswith(("America/", "Europe/", "Asia/", "Africa/", "Australia/")):
            if now.astimezone(zoneinfo.ZoneInfo(name)).hour in hours:
                return name
    raise AssertionError(f"no zone at {hours}")


@pytest.fixture
def body():
    open_zone = zone_at(range(10, 18))  # well inside 08:00-21:00 for the test's length

    def make(**fields):
        return {"to": TOLL_FREE, "timezone": open_zone, "twiml_url": TWIML_URL, **fields}

    return make


@pytest.fixture
def caller_ids(org, other_org):
    DidFactory(organization=other_org, e164="+14156669999")
    return [
        DidFactory(organization=org, e164="+14156660001", health_score=0.9),
        DidFactory(organization=org, e164="+14156660002", health_score=1.0),
    ]


@pytest.fixture
def streams(org, other_org):
    keys = [org_stream(org.id), org_stream(other_org.id)]
    get_redis().delete(*keys)
    yield
    get_redis().delete(*keys)


def event_types(org) -> list[str]:
    return [e["type"] for e in events_read(org_stream(org.id))]


def nothing_placed(carrier) -> bool:
    return not CallAttempt.objects.exists() and carrier.stats()["calls"]["created"] == 0


# --- Placing a call ------------------------------------------------------------------------


def test_a_call_from_a_named_caller_id_is_placed_with_the_carrier(
    api, org, caller_ids, carrier, body
):
    response = api.post(CALLS, body(caller_id="(415) 666-0001"), format="json")

    assert response.status_code == 201, response.content
    call = response.json()
    attempt = CallAttempt.objects.get()
    assert call == {
        "id": attempt.pk,
        "sid": attempt.sid,
        "to": TOLL_FREE,
        "caller_id": "+14156660001",
        "status": "in_flight",
        "outcome": None,
        "answered_by": None,
        "duration_seconds": None,
        "error_code": None,
        "created_at": call["created_at"],
        "ended_at": None,
    }
    assert call["sid"].startswith("CA")
    assert (attempt.organization, attempt.pool, attempt.campaign, attempt.prospect) == (
        org,
        "api",
        None,
        None,
    )
    assert CarrierCall.objects.get(sid=call["sid"]).organization == org
    calls = carrier.stats()["calls"]
    assert (calls["created"], calls["by_to"], calls["by_from"]) == (
        1,
        {TOLL_FREE: 1},
        {"+14156660001": 1},
    )
    assert Did.objects.get(e164="+14156660001").last_call_at is not None


def test_without_a_caller_id_one_is_chosen_as_for_campaigns(api, caller_ids, carrier, body):
    first = api.post(CALLS, body(twiml_url="", twiml="<Response><Say>Hi</Say></Response>"))
    assert first.status_code == 201, first.content
    second = api.post(CALLS, body(to="+18005550102"), format="json")

    assert (first.status_code, second.status_code) == (201, 201)
    # The healthiest first; then, at equal health, it would be the least recently used.
    assert first.json()["caller_id"] == "+14156660002"
    assert carrier.stats()["calls"]["by_from"] == {"+14156660002": 2}
    assert Did.objects.get(e164="+14156660001").last_call_at is None


@pytest.mark.parametrize(
    ("status", "answered_by", "duration", "outcome"),
    [
        ("completed", "human", 45, "human_connected"),
        ("completed", "human", 4, "human_hangup"),  # under the default 10 s
        ("completed", "machine_end_beep", 20, "voicemail"),
        ("no-answer", "", None, "no_answer"),
    ],
)
def test_the_settled_outcome_is_visible_and_on_the_org_stream(
    api,
    org,
    caller_ids,
    carrier,
    body,
    streams,
    django_capture_on_commit_callbacks,
    status,
    answered_by,
    duration,
    outcome,
):
    with django_capture_on_commit_callbacks(execute=True):
        call = api.post(CALLS, body(), format="json").json()
    # What the webhook inbox writes when the carrier reports the call's final status.
    CarrierCall.objects.filter(sid=call["sid"]).update(
        status=status, status_rank=4, answered_by=answered_by, duration_seconds=duration
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert attempts_settle() == {outcome: 1}

    got = api.get(f"{CALLS}{call['id']}/").json()
    assert (got["status"], got["outcome"], got["duration_seconds"]) == (
        "finished",
        outcome,
        duration,
    )
    assert got["answered_by"] == (answered_by or None)
    assert got["ended_at"] is not None
    assert event_types(org) == ["call.initiated", f"call.{outcome}"]
    assert attempts_settle() == {}


# --- Bad input: 400 with field errors, nothing placed --------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"to": "555-01"}, "to"),
        ({"to": ""}, "to"),
        ({"caller_id": "12"}, "caller_id"),
        ({"caller_id": "+14156669999"}, "caller_id"),  # the other org's
        ({"caller_id": "+14156660003"}, "caller_id"),  # retired
        ({"caller_id": "+14156660004"}, "caller_id"),  # texts only
        ({"twiml_url": ""}, "twiml_url"),  # neither URL nor TwiML
        ({"twiml": "<Response/>"}, "twiml"),  # both
        ({"twiml_url": "ftp://example.com/a.xml"}, "twiml_url"),
        ({"twiml_url": "answer.xml"}, "twiml_url"),
        ({"twiml_url": "https://my_host.example.com/a.xml"}, "twiml_url"),
        ({"calling_policy": "lenient"}, "calling_policy"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"idempotency_key": "x" * 256}, "idempotency_key"),
    ],
)
def test_bad_input_is_a_field_error_and_places_nothing(
    api, org, caller_ids, carrier, body, fields, field
):
    DidFactory(organization=org, e164="+14156660003", state="retired")
    DidFactory(organization=org, e164="+14156660004", voice_enabled=False)
    response = api.post(CALLS, body(**fields), format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]
    assert nothing_placed(carrier)


def test_a_missing_number_and_a_key_differing_from_the_header_are_field_errors(
    api, caller_ids, carrier, body
):
    payload = body()
    del payload["to"]
    assert list(api.post(CALLS, payload, format="json").json()) == ["to"]

    response = api.post(CALLS, body(idempotency_key="a"), format="json", HTTP_IDEMPOTENCY_KEY="b")
    assert response.status_code == 400
    assert list(response.json()) == ["idempotency_key"]
    assert nothing_placed(carrier)


# --- Guardrails: a code, nothing changed ---------------------------------------------------


def refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    error = response.json()
    assert error["code"] == code and error["detail"]
    return error


def test_a_suppressed_number_is_refused(api, org, caller_ids, carrier, body):
    Suppression.objects.create(organization=org, e164=TOLL_FREE, reason="dnc")
    refused(api.post(CALLS, body(to="800-555-0101"), format="json"), 422, "suppressed")
    assert nothing_placed(carrier)
    assert Did.objects.filter(last_call_at__isnull=False).count() == 0


def test_another_orgs_suppression_does_not_apply(api, other_org, caller_ids, carrier, body):
    Suppression.objects.create(organization=other_org, e164=TOLL_FREE, reason="dnc")
    assert api.post(CALLS, body(), format="json").status_code == 201


def test_outside_the_recipients_calling_hours_says_when_they_open(api, caller_ids, carrier, body):
    night = zone_at(range(1, 6))
    error = refused(
        api.post(CALLS, body(timezone=night), format="json"), 422, "outside_calling_window"
    )
    opens = parse_datetime(error["next_allowed_at"])
    assert opens > datetime.now(UTC)
    assert opens.astimezone(zoneinfo.ZoneInfo(night)).strftime("%H:%M") == "08:00"
    assert error["reason"]
    assert nothing_placed(carrier)


def test_a_number_that_cannot_be_located_is_never_called(api, caller_ids, carrier, body):
    error = refused(
        api.post(CALLS, body(timezone=""), format="json"), 422, "outside_calling_window"
    )
    assert error["next_allowed_at"] is None
    assert nothing_placed(carrier)


def test_without_a_healthy_caller_id_nothing_is_placed(api, org, caller_ids, carrier, body):
    Did.objects.filter(e164="+14156660001").update(health_score=0.2)
    refused(
        api.post(CALLS, body(caller_id="+14156660001"), format="json"), 422, "no_healthy_caller_id"
    )
    org.dids.update(state="cooling")
    refused(api.post(CALLS, body(), format="json"), 422, "no_healthy_caller_id")
    assert nothing_placed(carrier)
    assert not Did.objects.filter(last_call_at__isnull=False).exists()


def full(response, code: str) -> None:
    refused(response, 429, code)
    assert response["Retry-After"] == "5"


def test_a_full_api_pool_is_429_until_a_call_ends(
    api, other_api, org, other_org, caller_ids, carrier, body, settings
):
    settings.DIALER_CHANNEL_POOLS = {**settings.DIALER_CHANNEL_POOLS, "api": 2}
    OneOffCallFactory(organization=other_org)  # the pool is shared by every org
    OneOffCallFactory(organization=org, status="finished", outcome="busy")  # over: not counted
    assert api.post(CALLS, body(), format="json").status_code == 201

    full(api.post(CALLS, body(to="+18005550102"), format="json"), "api_pool_full")
    assert carrier.stats()["calls"]["created"] == 1

    CallAttempt.objects.filter(organization=other_org).update(status="finished", outcome="busy")
    assert api.post(CALLS, body(to="+18005550102"), format="json").status_code == 201


def test_the_orgs_limit_counts_its_campaign_calls_too(
    api, other_api, org, other_org, caller_ids, carrier, body
):
    org.concurrency_limit = 2
    org.save()
    campaign = CampaignFactory(organization=org)
    make_prospect(campaign, "+14155550101", status=Prospect.Status.DIALING)  # claimed by the tick
    assert api.post(CALLS, body(), format="json").status_code == 201

    full(api.post(CALLS, body(to="+18005550102"), format="json"), "org_concurrency_limit")
    assert other_api.post(CALLS, body(), format="json").status_code == 201  # not theirs
    assert carrier.stats()["calls"]["created"] == 2


def test_the_global_limit_counts_every_org(api, other_org, caller_ids, carrier, body, settings):
    settings.DIALER_GLOBAL_CONCURRENCY = 3
    campaign = CampaignFactory(organization=other_org)
    make_prospect(campaign, "+14155550101", status=Prospect.Status.DIALING)
    OneOffCallFactory(organization=other_org)
    OneOffCallFactory(organization=other_org, pool="ivr")
    full(api.post(CALLS, body(), format="json"), "global_concurrency_limit")
    assert carrier.stats()["calls"]["created"] == 0


# --- Never twice by mistake ----------------------------------------------------------------


def test_a_retried_request_gets_the_first_call_and_places_none(
    api, other_api, other_org, caller_ids, carrier, body
):
    first = api.post(CALLS, body(), format="json", HTTP_IDEMPOTENCY_KEY="order-42")
    again = api.post(CALLS, body(), format="json", HTTP_IDEMPOTENCY_KEY="order-42")
    in_body = api.post(CALLS, body(idempotency_key="order-42"), format="json")

    assert first.status_code == 201
    assert (again.status_code, in_body.status_code) == (200, 200)
    assert again.json() == in_body.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert carrier.stats()["calls"]["created"] == 1

    # The same key for another number is a mistake, not a retry.
    refused(
        api.post(CALLS, body(to="+18005550102", idempotency_key="order-42"), format="json"),
        422,
        "idempotency_key_reused",
    )
    # Another org's keys are its own.
    theirs = other_api.post(CALLS, body(), format="json", HTTP_IDEMPOTENCY_KEY="order-42")
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]
    assert carrier.stats()["calls"]["created"] == 2


def test_a_refused_request_leaves_its_key_free(api, org, caller_ids, carrier, body):
    Suppression.objects.create(organization=org, e164=TOLL_FREE, reason="dnc")
    refused(api.post(CALLS, body(idempotency_key="k1"), format="json"), 422, "suppressed")
    Suppression.objects.all().delete()
    assert api.post(CALLS, body(idempotency_key="k1"), format="json").status_code == 201


# --- The carrier's refusals ----------------------------------------------------------------


def test_a_carrier_refusal_finishes_the_call_rejected(
    api, org, caller_ids, carrier, body, settings, streams, django_capture_on_commit_callbacks
):
    settings.PUBLIC_BASE_URL = "http://bad_host.example.com"  # callbacks Twilio refuses: 21609
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(CALLS, body(idempotency_key="k"), format="json")

    error = refused(response, 502, "carrier_error")
    attempt = CallAttempt.objects.get()
    assert error["carrier_code"] == 21609
    assert error["call"]["id"] == attempt.pk
    assert (attempt.status, attempt.outcome, attempt.error_code, attempt.sid) == (
        "finished",
        "rejected",
        21609,
        None,
    )
    assert event_types(org) == ["call.initiated", "call.rejected"]
    # Its retry is answered with the call, and nothing is placed.
    replay = api.post(CALLS, body(idempotency_key="k"), format="json")
    assert (replay.status_code, replay.json()["outcome"]) == (200, "rejected")
    assert carrier.stats()["calls"]["created"] == 0
    assert CallAttempt.objects.active().count() == 0  # its slot is free


def test_an_unreachable_carrier_is_a_502(api, caller_ids, carrier, body, settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    settings.TWILIO_API_BASE_URL, settings.TWILIO_HTTP_TIMEOUT = f"http://127.0.0.1:{port}", 2
    get_provider.cache_clear()

    error = refused(api.post(CALLS, body(), format="json"), 502, "carrier_error")
    assert error["carrier_code"] is None
    assert error["detail"] == "The carrier did not place the call: it could not be reached"
    assert str(port) not in str(error) and "Accounts" not in str(error)  # no internals
    assert CallAttempt.objects.get().outcome == "rejected"


# --- Reading calls -------------------------------------------------------------------------


def test_the_list_is_newest_first_filterable_and_paginated(api, org, other_org):
    older = OneOffCallFactory(
        organization=org, to="+18005550101", status="finished", outcome="busy"
    )
    newer = OneOffCallFactory(organization=org, to="+18005550102")
    OneOffCallFactory(organization=other_org)
    campaign = CampaignFactory(organization=org)
    CallAttempt.objects.create(organization=org, campaign=campaign, to="+14155550101")

    assert [c["id"] for c in api.get(CALLS).json()["results"]] == [newer.pk, older.pk]
    assert [c["id"] for c in api.get(CALLS, {"status": "finished"}).json()["results"]] == [older.pk]
    assert [c["id"] for c in api.get(CALLS, {"outcome": "busy"}).json()["results"]] == [older.pk]
    assert [c["id"] for c in api.get(CALLS, {"to": "+18005550102"}).json()["results"]] == [newer.pk]
    assert api.get(CALLS, {"outcome": "maybe"}).status_code == 400
    page = api.get(CALLS, {"page_size": 1}).json()
    assert [c["id"] for c in page["results"]] == [newer.pk]
    assert [c["id"] for c in api.get(page["next"]).json()["results"]] == [older.pk]


def test_the_list_costs_the_same_queries_for_one_call_or_many(api, org):
    OneOffCallFactory(organization=org)
    api.get(CALLS)  # warm the key's last-use stamp
    with CaptureQueriesContext(connection) as one:
        assert api.get(CALLS).status_code == 200
    OneOffCallFactory.create_batch(20, organization=org)
    with CaptureQueriesContext(connection) as many:
        assert len(api.get(CALLS).json()["results"]) == 21
    assert len(many) == len(one)


def test_another_orgs_calls_are_not_found_and_not_listed(api, other_api, org, other_org):
    theirs = OneOffCallFactory(organization=other_org)
    mine = OneOffCallFactory(organization=org)
    assert api.get(f"{CALLS}{theirs.pk}/").status_code == 404
    assert [c["id"] for c in api.get(CALLS).json()["results"]] == [mine.pk]
    assert [c["id"] for c in other_api.get(CALLS).json()["results"]] == [theirs.pk]


def test_campaign_attempts_are_not_one_off_calls(api, org):
    attempt = CallAttempt.objects.create(
        organization=org, campaign=CampaignFactory(organization=org), to="+14155550101"
    )
    assert api.get(f"{CALLS}{attempt.pk}/").status_code == 404


# --- Scopes --------------------------------------------------------------------------------


def test_placing_needs_calls_manage(client_with_scopes, caller_ids, carrier, body):
    for scopes in [("calls:read",), tuple(set(ALL_SCOPES) - {"calls:manage"})]:
        response = client_with_scopes(*scopes).post(CALLS, body(), format="json")
        assert response.status_code == 403
        assert "calls:manage" in response.json()["detail"]
    assert nothing_placed(carrier)
    assert client_with_scopes("calls:manage").post(CALLS, body(), format="json").status_code == 201


# --- Concurrency ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_of_simultaneous_requests_for_the_last_slot_exactly_one_is_placed(
    org, other_org, carrier, body, settings
):
    settings.DIALER_CHANNEL_POOLS = {**settings.DIALER_CHANNEL_POOLS, "api": 2}
    DidFactory(organization=org, e164="+14156660001")
    OneOffCallFactory(organization=other_org)  # one of the two slots is taken
    key = make_key(org)
    n = 6
    barrier = threading.Barrier(n)
    statuses: dict = {}

    def request(i: int):
        client = APIClient()  # one each: a test client is not shared between threads
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client.post(CALLS, body(to=f"+1800555{i:04d}"), format="json").status_code

    threads = [in_thread(lambda i=i: request(i), statuses, str(i), barrier) for i in range(n)]
    for thread in threads:
        thread.join(30)

    assert sorted(statuses.values()) == [201] + [429] * (n - 1), statuses
    assert CallAttempt.objects.filter(organization=org).count() == 1
    assert carrier.stats()["calls"]["created"] == 1
