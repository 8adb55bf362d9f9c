"""/api/v1/dids/: caller IDs entered in any format are stored as E.164 with area code and region."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dids.models import Did
from tests.factories import DidFactory

LIST = "/api/v1/dids/"


@pytest.mark.parametrize(
    "raw, e164, area_code, region",
    [
        ("(415) 555-0101", "+14155550101", "415", "US"),
        ("415.555.0101", "+14155550101", "415", "US"),
        ("+1 415 555 0101", "+14155550101", "415", "US"),
        ("1-415-555-0101", "+14155550101", "415", "US"),
        ("  4155550101 ", "+14155550101", "415", "US"),
        ("(604) 555-0101", "+16045550101", "604", "CA"),
        ("+44 20 7946 0000", "+442079460000", "", "GB"),
    ],
)
def test_create_from_any_format(api, org, raw, e164, area_code, region):
    response = api.post(LIST, {"phone_number": raw, "friendly_name": "Main"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["e164"], body["area_code"], body["region"]) == (e164, area_code, region)
    assert "phone_number" not in body
    did = Did.objects.get(pk=body["id"])
    assert (did.organization, did.e164, did.area_code, did.region, did.state) == (
        org,
        e164,
        area_code,
        region,
        "active",
    )


def test_the_orgs_default_region_reads_national_numbers(api, org):
    org.default_region = "GB"
    org.save()
    response = api.post(LIST, {"phone_number": "020 7946 0000"}, format="json")
    assert response.status_code == 201
    assert response.json()["e164"] == "+442079460000"


def test_a_duplicate_in_another_format_is_400(api, other_api):
    assert api.post(LIST, {"phone_number": "+14155550101"}).status_code == 201
    response = api.post(LIST, {"phone_number": "(415) 555-0101"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"phone_number": ["+14155550101 is already a caller ID of this org."]}
    assert Did.objects.count() == 1
    # Another organization may own the same number.
    assert other_api.post(LIST, {"phone_number": "4155550101"}).status_code == 201


@pytest.mark.parametrize("body", [{"phone_number": "555-01"}, {"phone_number": ""}, {}])
def test_an_invalid_or_missing_number_is_400(api, body):
    response = api.post(LIST, body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["phone_number"]
    assert not Did.objects.exists()


def test_derived_fields_are_read_only(api):
    response = api.post(
        LIST,
        {"phone_number": "4155550101", "area_code": "999", "region": "ZZ", "health_score": 0.1},
        format="json",
    )
    assert response.status_code == 201
    did = Did.objects.get()
    assert (did.area_code, did.region, did.health_score) == ("415", "US", 1.0)


def test_update_renumbers_and_rederives(api, org):
    did = DidFactory(organization=org, e164="+14155550101")
    other = DidFactory(organization=org, e164="+14155550102")
    url = f"{LIST}{did.pk}/"

    response = api.patch(url, {"phone_number": "+1 (212) 555-0199"}, format="json")
    assert response.status_code == 200
    did.refresh_from_db()
    assert (did.e164, did.area_code, did.region) == ("+12125550199", "212", "US")

    response = api.patch(url, {"phone_number": other.e164}, format="json")
    assert response.status_code == 400 and "phone_number" in response.json()

    # Saving a DID with its own number is not a clash with itself.
    assert api.patch(url, {"phone_number": "2125550199"}, format="json").status_code == 200
    assert api.patch(url, {"state": "retired"}, format="json").json()["state"] == "retired"


def test_list_filter_and_delete(api, org):
    a = DidFactory(organization=org, e164="+14155550101", area_code="415")
    b = DidFactory(organization=org, e164="+12125550101", area_code="212", state="cooling")
    assert [d["id"] for d in api.get(LIST).json()["results"]] == [b.pk, a.pk]  # by number
    assert [d["id"] for d in api.get(LIST, {"area_code": "415"}).json()["results"]] == [a.pk]
    assert [d["id"] for d in api.get(LIST, {"state": "cooling"}).json()["results"]] == [b.pk]
    assert api.delete(f"{LIST}{a.pk}/").status_code == 204
    assert list(Did.objects.values_list("pk", flat=True)) == [b.pk]


def test_list_runs_a_constant_number_of_queries(api, org):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(LIST).status_code == 200
        return len(ctx)

    DidFactory.create_batch(3, organization=org)
    count()
    few = count()
    DidFactory.create_batch(27, organization=org)
    assert count() == few <= 3
