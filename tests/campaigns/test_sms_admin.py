"""The campaign admin for SMS: the variants inline, and the mode that follows the channel."""

import pytest

from campaigns.models import Campaign
from messaging.models import MessageVariant
from tests.admin_forms import admin_form_data
from tests.factories import CampaignFactory, MessageVariantFactory

CHANGELIST = "/admin/campaigns/campaign/"
PREFIX = "variants"


def change_url(campaign) -> str:
    return f"{CHANGELIST}{campaign.pk}/change/"


def with_variants(data: dict, *variants: tuple[str, str, int]) -> dict:
    """`data` with its extra variant rows replaced by `variants` (name, body, percentage)."""
    initial = int(data[f"{PREFIX}-INITIAL_FORMS"])
    data = {k: v for k, v in data.items() if not k.startswith(f"{PREFIX}-{initial}")}
    for i, (name, body, percentage) in enumerate(variants, start=initial):
        data |= {
            f"{PREFIX}-{i}-name": name,
            f"{PREFIX}-{i}-body": body,
            f"{PREFIX}-{i}-percentage": percentage,
            f"{PREFIX}-{i}-position": i,
        }
    return data | {f"{PREFIX}-TOTAL_FORMS": initial + len(variants)}


def test_the_change_form_shows_the_variants_inline(admin_client, org):
    variant = MessageVariantFactory(campaign__organization=org, body="Hi {first_name|there}")
    response = admin_client.get(change_url(variant.campaign))
    assert response.status_code == 200
    (inline,) = response.context["inline_admin_formsets"]
    assert [f.instance for f in inline.formset.forms] == [variant]
    assert "Hi {first_name|there}" in response.content.decode()
    assert "audience" in response.context["adminform"].readonly_fields


def post_variants(client, campaign, *variants: tuple[str, str, int]):
    data = admin_form_data(client.get(change_url(campaign)))
    return client.post(change_url(campaign), with_variants(data, *variants))


@pytest.fixture
def drip(org):
    return CampaignFactory(organization=org, channel="sms", sms_mode="drip")


def test_variants_that_add_up_to_100_are_saved(admin_client, drip):
    response = post_variants(admin_client, drip, ("A", "Hi", 70), ("B", "Hello", 30))

    assert response.status_code == 302
    rows = MessageVariant.objects.filter(campaign=drip).order_by("position")
    assert [(v.name, v.percentage) for v in rows] == [("A", 70), ("B", 30)]


@pytest.mark.parametrize(
    "variants, error",
    [
        ((("A", "Hi", 70), ("A", "Hello", 30)), "Please correct the duplicate data for name"),
        ((("A", "Hi", 70), ("B", "Hello", 20)), "add up to 90, not 100"),
    ],
)
def test_variants_that_break_the_rules_are_refused(admin_client, drip, variants, error):
    response = post_variants(admin_client, drip, *variants)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not MessageVariant.objects.exists()


def test_a_voice_campaign_takes_no_mode_and_no_variants(admin_client, campaign):
    data = admin_form_data(admin_client.get(change_url(campaign)))

    response = admin_client.post(change_url(campaign), data | {"sms_mode": "drip"})
    assert response.status_code == 200
    assert "Only SMS campaigns have a mode" in response.content.decode()

    response = post_variants(admin_client, campaign, ("A", "Hi", 100))
    assert "Only SMS campaigns have variants." in response.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).sms_mode == ""
    assert not MessageVariant.objects.exists()


def test_an_sms_campaign_saved_without_a_mode_is_a_blast(admin_client, org):
    campaign = CampaignFactory(organization=org, channel="sms", sms_mode="drip")
    data = admin_form_data(admin_client.get(change_url(campaign)))
    assert admin_client.post(change_url(campaign), data | {"sms_mode": ""}).status_code == 302
    assert Campaign.objects.get(pk=campaign.pk).sms_mode == "blast"
