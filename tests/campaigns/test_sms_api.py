"""/api/v1/campaigns/ for SMS: the mode, the sender pool, the start, the cap and the variants."""

import pytest

from campaigns.models import Campaign
from messaging.models import Message, MessageVariant
from tests.factories import (
    CampaignFactory,
    MessageFactory,
    MessageVariantFactory,
    SenderPoolFactory,
)
from tests.queries import queries_of_get

LIST = "/api/v1/campaigns/"
AB = [
    {"name": "A", "body": "Hi {first_name|there}, 20% off today.", "percentage": 50},
    {"name": "B", "body": "Hello {first_name|friend}: spring sale!", "percentage": 50},
]


def detail(campaign) -> str:
    return f"{LIST}{campaign.pk}/"


def variants_of(campaign) -> list[tuple]:
    return list(
        MessageVariant.objects.filter(campaign=campaign)
        .order_by("position")
        .values_list("name", "body", "percentage", "position")
    )


@pytest.fixture
def sms(org):
    return CampaignFactory(organization=org, name="Texts", channel="sms", sms_mode="drip")


def snapshot() -> dict:
    return {
        "campaigns": list(Campaign.objects.order_by("id").values()),
        "variants": list(MessageVariant.objects.order_by("id").values()),
    }


# --- Settings ----------------------------------------------------------------------------------


def test_create_an_sms_campaign_with_every_sms_setting(api, org):
    pool = SenderPoolFactory(organization=org)
    payload = {
        "name": "Spring texts",
        "channel": "sms",
        "sms_mode": "drip",
        "sender_pool": pool.pk,
        "start_at": "2030-03-01T15:00:00Z",
        "frequency_cap_hours": 48,
        "variants": AB,
    }
    response = api.post(LIST, payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in payload} == payload
    assert body["audience"] == {}
    campaign = Campaign.objects.get(pk=body["id"])
    assert (campaign.sms_mode, campaign.sender_pool, campaign.frequency_cap_hours) == (
        "drip",
        pool,
        48,
    )
    assert variants_of(campaign) == [
        ("A", AB[0]["body"], 50, 0),
        ("B", AB[1]["body"], 50, 1),
    ]


@pytest.mark.parametrize("mode", [None, ""])
def test_an_sms_campaign_without_a_mode_is_a_blast(api, mode):
    payload = {"name": "Texts", "channel": "sms"}
    if mode is not None:
        payload["sms_mode"] = mode
    response = api.post(LIST, payload, format="json")
    assert response.status_code == 201
    assert response.json()["sms_mode"] == "blast"
    assert response.json()["variants"] == []


def test_a_voice_campaign_has_no_sms_mode(api, campaign):
    response = api.post(LIST, {"name": "Calls"}, format="json")
    assert (response.json()["sms_mode"], response.json()["sender_pool"]) == ("", None)

    before = snapshot()
    for mode in ("blast", "drip"):
        response = api.post(LIST, {"name": "Calls", "sms_mode": mode}, format="json")
        assert (response.status_code, list(response.json())) == (400, ["sms_mode"])
        response = api.patch(detail(campaign), {"sms_mode": mode}, format="json")
        assert (response.status_code, list(response.json())) == (400, ["sms_mode"])
    assert snapshot() == before


@pytest.mark.parametrize("field_name", ["sender_pool", "variants"])
def test_a_voice_campaign_takes_no_pool_or_variants(api, org, campaign, field_name):
    value = {"sender_pool": SenderPoolFactory(organization=org).pk, "variants": AB}[field_name]
    before = snapshot()
    response = api.patch(detail(campaign), {field_name: value}, format="json")
    assert (response.status_code, list(response.json())) == (400, [field_name])
    assert snapshot() == before


def test_the_mode_survives_updates_and_follows_the_channel(api, sms):
    assert api.patch(detail(sms), {"name": "Renamed"}, format="json").json()["sms_mode"] == "drip"
    assert api.patch(detail(sms), {"channel": "sms"}, format="json").json()["sms_mode"] == "drip"
    assert api.patch(detail(sms), {"sms_mode": ""}, format="json").json()["sms_mode"] == "blast"


def test_a_campaign_turned_voice_drops_its_sms_settings(api, org, sms):
    sms.sender_pool = SenderPoolFactory(organization=org)
    sms.save()
    MessageVariantFactory(campaign=sms)

    response = api.patch(detail(sms), {"channel": "voice"}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["sms_mode"], body["sender_pool"], body["variants"]) == ("", None, [])
    assert not MessageVariant.objects.exists()


def test_the_audience_is_read_only(api, sms):
    sms.audience = {"eligible": 10, "capped": 2}
    sms.save()
    response = api.patch(detail(sms), {"audience": {"eligible": 1}}, format="json")
    assert response.status_code == 200
    assert response.json()["audience"] == {"eligible": 10, "capped": 2}


def test_another_orgs_sender_pool_is_a_400_field_error(api, other_org, sms):
    theirs = SenderPoolFactory(organization=other_org)
    before = snapshot()
    response = api.patch(detail(sms), {"sender_pool": theirs.pk}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["sender_pool"]
    missing = api.patch(detail(sms), {"sender_pool": theirs.pk + 1000}, format="json")
    assert missing.json() == response.json() | {
        "sender_pool": [f'Invalid pk "{theirs.pk + 1000}" - object does not exist.']
    }
    assert snapshot() == before


@pytest.mark.parametrize(
    "field_name, value", [("frequency_cap_hours", -1), ("frequency_cap_hours", 24 * 90 + 1)]
)
def test_invalid_sms_settings_are_400_field_errors(api, sms, field_name, value):
    before = snapshot()
    response = api.patch(detail(sms), {field_name: value}, format="json")
    assert (response.status_code, list(response.json())) == (400, [field_name])
    assert snapshot() == before


# --- Variants ----------------------------------------------------------------------------------


def test_variants_are_replaced_as_a_whole_keeping_the_rows_of_names_that_stay(api, sms):
    assert api.patch(detail(sms), {"variants": AB}, format="json").status_code == 200
    a = MessageVariant.objects.get(campaign=sms, name="A")
    message = MessageFactory(campaign=sms, variant=a)

    new = [
        {"name": "C", "body": "New text", "percentage": 30},
        {"name": "A", "body": "Changed", "percentage": 70},
    ]
    response = api.patch(detail(sms), {"variants": new}, format="json")

    assert response.status_code == 200
    assert response.json()["variants"] == new
    assert variants_of(sms) == [("C", "New text", 30, 0), ("A", "Changed", 70, 1)]
    assert MessageVariant.objects.get(campaign=sms, name="A").pk == a.pk
    assert Message.objects.get(pk=message.pk).variant_id == a.pk


def test_variants_left_out_stay_and_an_empty_list_removes_them(api, sms):
    api.patch(detail(sms), {"variants": AB}, format="json")
    assert api.patch(detail(sms), {"name": "Renamed"}, format="json").json()["variants"] == AB
    assert api.put(detail(sms), {"name": "Again"}, format="json").json()["variants"] == AB
    assert api.patch(detail(sms), {"variants": []}, format="json").json()["variants"] == []
    assert not MessageVariant.objects.exists()


@pytest.mark.parametrize(
    "variants, error",
    [
        (
            [{**AB[0], "percentage": 60}, AB[1]],
            ["The variants' percentages add up to 110, not 100."],
        ),
        ([{**AB[0], "percentage": 100}, {**AB[1], "name": "A", "percentage": 0}], None),
        ([{**AB[0], "percentage": 101}], None),
        ([{**AB[0], "percentage": -1, "name": "Z"}, {**AB[1], "percentage": 101}], None),
        ([{**AB[0], "body": "", "percentage": 100}], None),
        ([{**AB[0], "body": "x" * 1601, "percentage": 100}], None),
        ([{**AB[0], "name": "", "percentage": 100}], None),
        ([{"name": "A", "percentage": 100}], None),
        ("A: hi", None),
        ([{**AB[0], "percentage": 100}, "B"], None),
    ],
)
def test_invalid_variants_are_400_and_change_nothing(api, sms, variants, error):
    api.patch(detail(sms), {"variants": AB}, format="json")
    before = snapshot()
    for response in (
        api.patch(detail(sms), {"variants": variants}, format="json"),
        api.post(LIST, {"name": "New", "channel": "sms", "variants": variants}, format="json"),
    ):
        assert (response.status_code, list(response.json())) == (400, ["variants"])
        if error is not None:
            assert response.json()["variants"] == error
    assert snapshot() == before


def test_repeated_names_are_named(api, sms):
    variants = [{**AB[0], "percentage": 100}, {**AB[1], "name": "A", "percentage": 0}]
    response = api.patch(detail(sms), {"variants": variants}, format="json")
    assert response.json() == {"variants": ["Variant names must be unique: A repeated."]}


def test_a_1600_character_body_and_a_0_percent_variant_are_allowed(api, sms):
    variants = [
        {"name": "Long", "body": "x" * 1600, "percentage": 100},
        {"name": "Off", "body": "Paused for now", "percentage": 0},
    ]
    assert api.patch(detail(sms), {"variants": variants}, format="json").status_code == 200


# --- Two orgs and query counts -----------------------------------------------------------------


def test_another_orgs_campaign_variants_are_not_found(api, other_org):
    theirs = MessageVariantFactory(campaign__organization=other_org).campaign
    before = snapshot()
    response = api.patch(detail(theirs), {"variants": AB}, format="json")
    assert response.status_code == 404
    assert snapshot() == before


def test_a_list_of_sms_campaigns_runs_a_constant_number_of_queries(api, org):
    for _ in range(3):
        MessageVariantFactory(campaign__organization=org)
    CampaignFactory(organization=org)  # a voice one among them
    queries_of_get(api, LIST)
    few = queries_of_get(api, LIST)
    for _ in range(20):
        campaign = MessageVariantFactory(campaign__organization=org).campaign
        MessageVariantFactory(campaign=campaign, name="B", percentage=0)
    assert queries_of_get(api, LIST) == few <= 4
    listed = api.get(LIST).json()["results"]
    assert [len(c["variants"]) for c in listed[:2]] == [2, 2]
