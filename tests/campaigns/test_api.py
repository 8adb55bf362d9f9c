"""/api/v1/campaigns/, its prospect import and /api/v1/campaign/concurrency-settings."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Campaign
from orgs.models import Organization
from prospects.models import Prospect, ProspectPhone
from tests.factories import CampaignFactory, SuppressionFactory, make_prospect

LIST = "/api/v1/campaigns/"


def detail(campaign) -> str:
    return f"/api/v1/campaigns/{campaign.pk}/"


# --- CRUD ----------------------------------------------------------------------------------


def test_create_with_defaults(api, org):
    response = api.post(LIST, {"name": "Spring"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Spring"
    assert body["status"] == "created"
    assert body["channel"] == "voice"
    assert body["calls_per_second"] == "1.000"
    assert body["calling_windows"] == [] and body["caller_id_filter"] == {}
    assert Campaign.objects.get(pk=body["id"]).organization == org


def test_create_with_every_setting(api):
    payload = {
        "name": "Texts",
        "channel": "sms",
        "calls_per_second": "0.5",
        "caller_id_filter": {"area_codes": ["415", "212"], "regions": ["US"]},
        "calling_policy": "state",
        "calling_windows": [
            {"days": ["mon", "tue"], "start": "09:00", "end": "17:00"},
            {"start": "10:00", "end": "24:00"},
        ],
        "timezone": "America/Chicago",
        "max_attempts_per_phone_number": 3,
        "retry_delay_minutes": 15,
        "retry_outcomes": ["no_answer", "busy", "human_hangup"],
        "human_hangup_seconds": 20,
        "voicemail_drop": "Hi, this is Acme. Call us back at 415 555 0100.",
        "twiml": "<Response><Say>Hello from Acme.</Say></Response>",
        "priority": 7,
    }
    response = api.post(LIST, payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in payload} == {**payload, "calls_per_second": "0.500"}


def test_status_and_timestamps_are_read_only(api):
    response = api.post(
        LIST, {"name": "x", "status": "dialing", "started_at": "2020-01-01T00:00:00Z"}
    )
    assert response.status_code == 201
    campaign = Campaign.objects.get(pk=response.json()["id"])
    assert campaign.status == "created" and campaign.started_at is None


def test_retrieve_update_and_delete(api, campaign):
    assert api.get(detail(campaign)).json()["name"] == "Acme spring"

    response = api.patch(detail(campaign), {"priority": 9}, format="json")
    assert response.status_code == 200 and response.json()["priority"] == 9

    response = api.put(detail(campaign), {"name": "Acme summer"}, format="json")
    assert response.status_code == 200
    campaign.refresh_from_db()
    assert (campaign.name, campaign.priority) == ("Acme summer", 9)

    make_prospect(campaign, "+14155550101")
    assert api.delete(detail(campaign)).status_code == 204
    assert not Campaign.objects.filter(pk=campaign.pk).exists()
    assert not Prospect.objects.exists() and not ProspectPhone.objects.exists()
    assert api.get(detail(campaign)).status_code == 404


def test_list_is_newest_first_and_filters(api, org):
    first = CampaignFactory(organization=org, name="Alpha", channel="sms")
    second = CampaignFactory(organization=org, name="Beta")
    body = api.get(LIST).json()
    assert body["count"] == 2
    assert [c["id"] for c in body["results"]] == [second.pk, first.pk]
    assert [c["id"] for c in api.get(LIST, {"channel": "sms"}).json()["results"]] == [first.pk]
    assert [c["id"] for c in api.get(LIST, {"name__icontains": "BET"}).json()["results"]] == [
        second.pk
    ]


BAD_WINDOWS = [
    "09:00-17:00",
    [{"days": ["funday"], "start": "09:00", "end": "17:00"}],
    [{"days": [], "start": "09:00", "end": "17:00"}],
    [{"start": "9:00", "end": "17:00"}],
    [{"start": "09:00", "end": "25:00"}],
    [{"start": "17:00", "end": "09:00"}],
    [{"start": "09:00"}],
    [{"start": "09:00", "end": "17:00", "tz": "UTC"}],
    ["mon 09:00-17:00"],
]
BAD_CALLER_ID_FILTERS = [
    "415",
    ["415"],
    {"area_codes": ["4a5"]},
    {"area_codes": ["41567"]},
    {"area_codes": [415]},
    {"regions": ["USA"]},
    {"regions": ["U1"]},
    {"states": ["CA"]},
]


@pytest.mark.parametrize(
    "field_name, value",
    [
        *[("calling_windows", v) for v in BAD_WINDOWS],
        *[("caller_id_filter", v) for v in BAD_CALLER_ID_FILTERS],
        ("timezone", "Mars/Olympus"),
        ("timezone", "EST5EDT-ish"),
        ("calls_per_second", 0),
        ("calls_per_second", "-1"),
        ("calls_per_second", "0.0001"),
        ("calls_per_second", "abc"),
        ("channel", "fax"),
        ("max_attempts_per_phone_number", 0),
        ("name", ""),
        ("retry_outcomes", "no_answer"),
        ("retry_outcomes", ["no_answer", "human_connected"]),
        ("human_hangup_seconds", 601),
        ("human_hangup_seconds", -1),
        ("voicemail_drop", "x" * 5000),
        ("twiml", "<Response><Say>unclosed</Response>"),
        ("twiml", "<Say>not in a Response</Say>"),
        ("twiml", "<Response>" + "<Pause/>" * 600 + "</Response>"),
    ],
)
def test_invalid_settings_are_400_field_errors_on_create_and_update(
    api, campaign, field_name, value
):
    response = api.post(LIST, {"name": "x", field_name: value}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field_name]
    assert Campaign.objects.count() == 1

    before = Campaign.objects.values().get(pk=campaign.pk)
    response = api.patch(detail(campaign), {field_name: value}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field_name]
    assert Campaign.objects.values().get(pk=campaign.pk) == before


@pytest.mark.parametrize("value", [{"area_codes": 415}, {"regions": None}])
def test_caller_id_filter_lists_of_the_wrong_type_are_400(api, value):
    response = api.post(LIST, {"name": "x", "caller_id_filter": value}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["caller_id_filter"]


# --- Prospect import -----------------------------------------------------------------------


def import_url(campaign) -> str:
    return f"/api/v1/campaigns/{campaign.pk}/prospects/import/"


def upload(api, campaign, data: bytes, name="prospects.csv"):
    file = SimpleUploadedFile(name, data, "text/csv")
    return api.post(import_url(campaign), {"file": file}, format="multipart")


def test_import_returns_the_counts(api, campaign, org):
    SuppressionFactory(organization=org, e164="+14155550103")
    make_prospect(campaign, "+14155550104")
    data = (
        b"phone,first_name,phone2,company\n"
        b"(415) 555-0101,Ann,212-555-0101,Initech\n"
        b"4155550102,Bo,,\n"
        b"415 555 0103,Cy,,\n"
        b"+1 415 555 0104,Di,,\n"
        b"555-01,Ed,,\n"
    )
    response = upload(api, campaign, data)
    assert response.status_code == 200
    assert response.json() == {
        "imported": 2,
        "suppressed": 1,
        "duplicates": 1,
        "error_count": 1,
        "errors": [{"line": 6, "value": "555-01", "reason": "invalid phone number"}],
    }
    ann = Prospect.objects.get(first_name="Ann")
    assert ann.campaign == campaign and ann.organization == org
    assert ann.attributes == {"company": "Initech"}
    assert list(ann.phones.values_list("e164", flat=True)) == ["+14155550101", "+12125550101"]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "not CSV text"),
        (b"%PDF-1.7\n\xe2\xe3\xcf\xd3\n", "not UTF-8 CSV text"),
        (b"first_name,last_name\nAnn,Lee\n", "no 'phone' column"),
        (b"", "empty"),
    ],
)
def test_a_file_that_cannot_be_imported_is_400_and_imports_nothing(api, campaign, data, message):
    response = upload(api, campaign, data)
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == ["file"]
    assert message in errors["file"][0]
    assert not Prospect.objects.exists()


def test_import_without_a_file_is_400(api, campaign):
    response = api.post(import_url(campaign), {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()


def test_import_into_a_missing_campaign_is_404(api, campaign):
    response = upload(api, Campaign(pk=campaign.pk + 1000), b"phone\n4155550101\n")
    assert response.status_code == 404


# --- Concurrency settings ------------------------------------------------------------------

CONCURRENCY = "/api/v1/campaign/concurrency-settings"


@pytest.mark.parametrize("path", [CONCURRENCY, CONCURRENCY + "/"])
def test_concurrency_settings_read_and_update(api, org, path):
    assert api.get(path).json() == {"concurrency_limit": 10}
    response = api.put(path, {"concurrency_limit": 250}, format="json")
    assert response.status_code == 200
    assert response.json() == {"concurrency_limit": 250}
    assert Organization.objects.get(pk=org.pk).concurrency_limit == 250
    assert api.get(path).json() == {"concurrency_limit": 250}


@pytest.mark.parametrize("limit", [1, 10_000])
def test_concurrency_limit_bounds_are_allowed(api, org, limit):
    assert api.put(CONCURRENCY, {"concurrency_limit": limit}, format="json").status_code == 200
    assert Organization.objects.get(pk=org.pk).concurrency_limit == limit


@pytest.mark.parametrize("body", [{"concurrency_limit": v} for v in (0, -5, 10_001, "many")] + [{}])
def test_concurrency_limit_outside_the_range_is_400_and_changes_nothing(api, org, body):
    response = api.put(CONCURRENCY, body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["concurrency_limit"]
    assert Organization.objects.get(pk=org.pk).concurrency_limit == 10


# --- Query counts --------------------------------------------------------------------------


def list_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx)


def test_list_runs_a_constant_number_of_queries(api, org):
    CampaignFactory.create_batch(3, organization=org)
    list_queries(api, LIST)  # the first request also records the key's use
    few = list_queries(api, LIST)
    CampaignFactory.create_batch(27, organization=org)
    many = list_queries(api, LIST)
    assert api.get(LIST).json()["count"] == 30
    assert many == few <= 3
