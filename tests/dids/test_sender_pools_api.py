"""/api/v1/sender-pools/ and a caller ID's sms_mps: the senders SMS campaigns text from."""

import pytest

from dids.models import Did, SenderPool
from tests.factories import CampaignFactory, DidFactory, SenderPoolFactory
from tests.queries import queries_of_get

LIST = "/api/v1/sender-pools/"


def detail(pool) -> str:
    return f"{LIST}{pool.pk}/"


def pools() -> list[dict]:
    return [
        {
            **row,
            "dids": sorted(SenderPool.objects.get(pk=row["id"]).dids.values_list("pk", flat=True)),
        }
        for row in SenderPool.objects.order_by("id").values("id", "name", "rate_per_minute")
    ]


# --- CRUD --------------------------------------------------------------------------------------


def test_create_with_the_orgs_sms_caller_ids(api, org):
    a, b = DidFactory(organization=org), DidFactory(organization=org)
    response = api.post(
        LIST, {"name": "Main", "rate_per_minute": 600, "dids": [b.pk, a.pk]}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in ("name", "rate_per_minute", "dids")} == {
        "name": "Main",
        "rate_per_minute": 600,
        "dids": sorted([a.pk, b.pk]),
    }
    pool = SenderPool.objects.get(pk=body["id"])
    assert pool.organization == org
    assert set(pool.dids.all()) == {a, b}


def test_create_with_defaults(api):
    response = api.post(LIST, {"name": "Empty"}, format="json")
    assert response.status_code == 201
    assert (response.json()["rate_per_minute"], response.json()["dids"]) == (17_000, [])


def test_retrieve_update_and_delete(api, org):
    a, b = DidFactory(organization=org), DidFactory(organization=org)
    pool = SenderPoolFactory(organization=org, name="Main")
    pool.dids.set([a])

    assert api.get(detail(pool)).json()["dids"] == [a.pk]

    response = api.patch(detail(pool), {"rate_per_minute": 90}, format="json")
    assert response.status_code == 200
    assert (response.json()["rate_per_minute"], response.json()["dids"]) == (90, [a.pk])

    response = api.put(detail(pool), {"name": "Renamed", "dids": [b.pk]}, format="json")
    assert response.status_code == 200
    pool.refresh_from_db()
    assert (pool.name, pool.rate_per_minute, list(pool.dids.all())) == ("Renamed", 90, [b])

    assert api.patch(detail(pool), {"dids": []}, format="json").json()["dids"] == []

    assert api.delete(detail(pool)).status_code == 204
    assert not SenderPool.objects.exists()
    assert Did.objects.count() == 2  # the caller IDs stay


def test_list_and_filter(api, org):
    b = SenderPoolFactory(organization=org, name="Beta")
    a = SenderPoolFactory(organization=org, name="Alpha")
    assert [p["id"] for p in api.get(LIST).json()["results"]] == [a.pk, b.pk]  # by name
    assert [p["id"] for p in api.get(LIST, {"name__icontains": "ET"}).json()["results"]] == [b.pk]


def test_deleting_a_pool_a_campaign_uses_is_409_naming_the_campaigns(api, org):
    pool = SenderPoolFactory(organization=org)
    first = CampaignFactory(organization=org, channel="sms", sms_mode="blast", sender_pool=pool)
    second = CampaignFactory(organization=org, channel="sms", sms_mode="drip", sender_pool=pool)

    response = api.delete(detail(pool))

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "sender_pool_in_use"
    assert body["campaigns"] == [first.pk, second.pk]
    assert "give them another pool first" in body["detail"]
    assert SenderPool.objects.filter(pk=pool.pk).exists()


# --- Validation --------------------------------------------------------------------------------


def test_caller_ids_that_are_not_the_orgs_sms_ones_are_400_naming_them(api, org, other_org):
    ours = DidFactory(organization=org)
    no_sms = DidFactory(organization=org, sms_enabled=False)
    theirs = DidFactory(organization=other_org)
    pool = SenderPoolFactory(organization=org, name="Main")
    pool.dids.set([ours])
    before = pools()
    bad = [ours.pk, theirs.pk, no_sms.pk, 999_999]

    for response in (
        api.post(LIST, {"name": "New", "dids": bad}, format="json"),
        api.patch(detail(pool), {"name": "Changed", "dids": bad}, format="json"),
    ):
        assert response.status_code == 400
        named = ", ".join(map(str, sorted([theirs.pk, no_sms.pk, 999_999])))
        assert response.json() == {
            "dids": [f"Not SMS-enabled caller IDs of this organization: {named}."]
        }
    assert pools() == before


@pytest.mark.parametrize(
    "field_name, value",
    [
        ("name", ""),
        ("name", "x" * 101),
        ("rate_per_minute", 0),
        ("rate_per_minute", -5),
        ("rate_per_minute", "fast"),
        ("dids", "1,2"),
        ("dids", ["one"]),
    ],
)
def test_invalid_fields_are_400_field_errors_that_change_nothing(api, org, field_name, value):
    pool = SenderPoolFactory(organization=org, name="Main")
    before = pools()
    response = api.post(LIST, {"name": "New", field_name: value}, format="json")
    assert (response.status_code, list(response.json())) == (400, [field_name])
    response = api.patch(detail(pool), {field_name: value}, format="json")
    assert (response.status_code, list(response.json())) == (400, [field_name])
    assert pools() == before


def test_a_name_is_unique_within_the_org_only(api, other_api, org):
    SenderPoolFactory(organization=org, name="Main")
    other = SenderPoolFactory(organization=org, name="Other")
    response = api.post(LIST, {"name": "Main"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "name": ["This organization already has a sender pool named 'Main'."]
    }
    assert api.patch(detail(other), {"name": "Main"}, format="json").status_code == 400
    assert api.patch(detail(other), {"name": "Other"}, format="json").status_code == 200
    assert other_api.post(LIST, {"name": "Main"}, format="json").status_code == 201


# --- Two orgs ----------------------------------------------------------------------------------


def test_another_orgs_pools_are_not_found_and_not_listed(api, other_api, org, other_org):
    ours = SenderPoolFactory(organization=org)
    theirs = SenderPoolFactory(organization=other_org, name="Theirs")
    before = pools()
    for method, body in (("get", None), ("patch", {"name": "Mine"}), ("delete", None)):
        assert getattr(api, method)(detail(theirs), body, format="json").status_code == 404
    assert pools() == before
    assert [p["id"] for p in api.get(LIST).json()["results"]] == [ours.pk]
    assert [p["id"] for p in other_api.get(LIST).json()["results"]] == [theirs.pk]


# --- Query counts ------------------------------------------------------------------------------


def test_list_runs_a_constant_number_of_queries(api, org):
    dids = DidFactory.create_batch(4, organization=org)
    for pool in SenderPoolFactory.create_batch(3, organization=org):
        pool.dids.set(dids[:2])
    queries_of_get(api, LIST)
    few = queries_of_get(api, LIST)
    for pool in SenderPoolFactory.create_batch(20, organization=org):
        pool.dids.set(dids)
    assert queries_of_get(api, LIST) == few <= 4


# --- A caller ID's sms_mps ---------------------------------------------------------------------


def test_sms_mps_is_editable_and_null_means_by_number_type(api, org):
    did = DidFactory(organization=org)
    url = f"/api/v1/dids/{did.pk}/"
    assert api.get(url).json()["sms_mps"] is None
    assert api.patch(url, {"sms_mps": 25}, format="json").json()["sms_mps"] == 25.0
    assert Did.objects.get(pk=did.pk).sms_mps == 25.0
    assert api.patch(url, {"sms_mps": 1000}, format="json").status_code == 200
    assert api.patch(url, {"sms_mps": None}, format="json").json()["sms_mps"] is None
    assert Did.objects.get(pk=did.pk).sms_mps is None


@pytest.mark.parametrize("value", [0, -1, 1000.5, "fast"])
def test_sms_mps_out_of_range_is_400_and_changes_nothing(api, org, value):
    did = DidFactory(organization=org, sms_mps=3)
    response = api.patch(f"/api/v1/dids/{did.pk}/", {"sms_mps": value}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["sms_mps"])
    assert Did.objects.get(pk=did.pk).sms_mps == 3
