"""/api/v1/prospects/ and /api/v1/suppressions/ (with its CSV import)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from prospects.models import Prospect, ProspectPhone, Suppression
from tests.factories import CampaignFactory, SuppressionFactory, make_prospect

PROSPECTS = "/api/v1/prospects/"
SUPPRESSIONS = "/api/v1/suppressions/"


# --- Prospects -----------------------------------------------------------------------------


def test_list_filtered_by_campaign_and_status(api, org, campaign):
    second = CampaignFactory(organization=org)
    ann = make_prospect(campaign, "+14155550101", "+12125550101", first_name="Ann")
    bo = make_prospect(campaign, "+14155550102", status="completed")
    cy = make_prospect(second, "+14155550101")

    def ids(**params) -> list[int]:
        response = api.get(PROSPECTS, params)
        assert response.status_code == 200
        return [p["id"] for p in response.json()["results"]]

    assert ids() == [ann.pk, bo.pk, cy.pk]
    assert ids(campaign=campaign.pk) == [ann.pk, bo.pk]
    assert ids(campaign=campaign.pk, status="queued") == [ann.pk]
    assert ids(status__in="completed,queued") == [ann.pk, bo.pk, cy.pk]
    assert ids(status="completed") == [bo.pk]
    assert api.get(PROSPECTS, {"status": "asleep"}).status_code == 400


def test_phone_numbers_are_e164_strings_in_dialing_order(api, campaign):
    prospect = make_prospect(campaign, first_name="Ann")
    # Stored out of order: the list must follow `position`, not insertion order.
    ProspectPhone.objects.create(prospect=prospect, campaign=campaign, position=2, e164="+3")
    ProspectPhone.objects.create(prospect=prospect, campaign=campaign, position=0, e164="+1")
    ProspectPhone.objects.create(prospect=prospect, campaign=campaign, position=1, e164="+2")
    body = api.get(PROSPECTS).json()["results"][0]
    assert body["phone_numbers"] == ["+1", "+2", "+3"]
    assert api.get(f"{PROSPECTS}{prospect.pk}/").json()["phone_numbers"] == ["+1", "+2", "+3"]


def test_detail_shape(api, campaign):
    prospect = make_prospect(campaign, "+14155550101", first_name="Ann", email="ann@example.com")
    body = api.get(f"{PROSPECTS}{prospect.pk}/").json()
    assert body["campaign"] == campaign.pk
    assert (body["first_name"], body["email"], body["status"]) == (
        "Ann",
        "ann@example.com",
        "queued",
    )
    assert body["phone_numbers"] == ["+14155550101"]
    assert "locked_by" not in body


def test_delete_removes_the_prospect_and_its_numbers(api, campaign):
    gone = make_prospect(campaign, "+14155550101", "+14155550102")
    kept = make_prospect(campaign, "+14155550103")
    assert api.delete(f"{PROSPECTS}{gone.pk}/").status_code == 204
    assert list(Prospect.objects.values_list("pk", flat=True)) == [kept.pk]
    assert list(ProspectPhone.objects.values_list("e164", flat=True)) == ["+14155550103"]


def test_prospects_are_created_by_import_not_by_post(api, campaign):
    response = api.post(PROSPECTS, {"campaign": campaign.pk}, format="json")
    assert response.status_code == 405
    assert not Prospect.objects.exists()


def test_list_runs_a_constant_number_of_queries(api, campaign):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = api.get(PROSPECTS, {"campaign": campaign.pk})
        assert response.status_code == 200
        assert all(len(p["phone_numbers"]) == 2 for p in response.json()["results"])
        return len(ctx)

    n = 0

    def add(how_many: int) -> None:
        nonlocal n
        for _ in range(how_many):
            make_prospect(campaign, f"+1415555{n:04d}", f"+1212555{n:04d}")
            n += 1

    add(3)
    count()  # the first request also records the key's use
    few = count()
    add(27)
    assert count() == few <= 5


# --- Suppressions --------------------------------------------------------------------------


def test_create_normalises_the_number(api, org):
    response = api.post(SUPPRESSIONS, {"phone_number": "(212) 555-0199"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["e164"], body["reason"], body["source"]) == ("+12125550199", "manual", "api")
    assert "phone_number" not in body
    suppression = Suppression.objects.get()
    assert (suppression.organization, suppression.e164) == (org, "+12125550199")


def test_create_keeps_a_given_reason_and_source(api):
    response = api.post(
        SUPPRESSIONS,
        {"phone_number": "+1 212 555 0199", "reason": "complaint", "source": "call centre"},
        format="json",
    )
    assert response.status_code == 201
    assert Suppression.objects.values_list("reason", "source").get() == (
        "complaint",
        "call centre",
    )


def test_a_duplicate_is_400_but_another_org_may_suppress_it(api, other_api):
    assert api.post(SUPPRESSIONS, {"phone_number": "2125550199"}).status_code == 201
    response = api.post(SUPPRESSIONS, {"phone_number": "+1 (212) 555-0199"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"phone_number": ["+12125550199 is already suppressed."]}
    assert Suppression.objects.count() == 1
    assert other_api.post(SUPPRESSIONS, {"phone_number": "2125550199"}).status_code == 201


@pytest.mark.parametrize(
    "body, field_name",
    [
        ({"phone_number": "12"}, "phone_number"),
        ({"phone_number": ""}, "phone_number"),
        ({}, "phone_number"),
        ({"phone_number": "2125550199", "reason": "annoyed"}, "reason"),
    ],
)
def test_invalid_input_is_400(api, body, field_name):
    response = api.post(SUPPRESSIONS, body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field_name]
    assert not Suppression.objects.exists()


def test_list_is_cursor_paginated_newest_first(api, org):
    rows = [SuppressionFactory(organization=org) for _ in range(5)]
    expected = [s.pk for s in sorted(rows, key=lambda s: (s.created_at, s.pk), reverse=True)]
    seen = []
    url, pages = f"{SUPPRESSIONS}?page_size=2", 0
    while url:
        body = api.get(url).json()
        assert set(body) == {"next", "previous", "results"}
        assert len(body["results"]) <= 2
        seen += [s["id"] for s in body["results"]]
        url, pages = body["next"], pages + 1
    assert (seen, pages) == (expected, 3)


def test_list_filters_by_number_and_reason(api, org):
    stop = SuppressionFactory(organization=org, e164="+12125550101", reason="stop")
    SuppressionFactory(organization=org, e164="+12125550102", reason="dnc")
    assert [s["id"] for s in api.get(SUPPRESSIONS, {"e164": "+12125550101"}).json()["results"]] == [
        stop.pk
    ]
    assert [s["id"] for s in api.get(SUPPRESSIONS, {"reason": "stop"}).json()["results"]] == [
        stop.pk
    ]


def test_delete(api, org):
    gone = SuppressionFactory(organization=org)
    kept = SuppressionFactory(organization=org)
    assert api.delete(f"{SUPPRESSIONS}{gone.pk}/").status_code == 204
    assert list(Suppression.objects.values_list("pk", flat=True)) == [kept.pk]


def import_dnc(api, data: bytes):
    file = SimpleUploadedFile("dnc.csv", data, "text/csv")
    return api.post(f"{SUPPRESSIONS}import/", {"file": file}, format="multipart")


def test_import_returns_counts_and_line_numbered_errors(api, org):
    SuppressionFactory(organization=org, e164="+12125550104")
    data = (
        b"phone,reason\n"
        b"(212) 555-0101,stop\n"  # line 2
        b"212.555.0102,\n"  # line 3: reason defaults to dnc
        b"bogus,dnc\n"  # line 4
        b"2125550103,maybe\n"  # line 5
        b"+1 212 555 0104,dnc\n"  # line 6: already on the list
        b"2125550101,dnc\n"  # line 7: repeated in the file
        b",dnc\n"  # line 8
    )
    response = import_dnc(api, data)
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("imported", "duplicates", "error_count")} == {
        "imported": 2,
        "duplicates": 2,
        "error_count": 3,
    }
    assert [(e["line"], e["value"]) for e in body["errors"]] == [
        (4, "bogus"),
        (5, "maybe"),
        (8, ""),
    ]
    assert body["errors"][0]["reason"] == "invalid phone number"
    assert "reason must be one of" in body["errors"][1]["reason"]
    assert dict(Suppression.objects.filter(source="api-import").values_list("e164", "reason")) == {
        "+12125550101": "stop",
        "+12125550102": "dnc",
    }


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x00\x01\x02binary", "not CSV text"),
        (b"number,reason\n2125550101,dnc\n", "no 'phone' column"),
    ],
)
def test_import_of_an_unusable_file_is_400(api, data, message):
    response = import_dnc(api, data)
    assert response.status_code == 400
    assert message in response.json()["file"][0]
    assert not Suppression.objects.exists()
