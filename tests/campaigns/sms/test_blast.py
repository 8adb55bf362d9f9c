"""A blast's start: validation, the audience's exclusions, variants, texts, senders, times."""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

from campaigns.models import Campaign
from campaigns.services import campaign_start
from campaigns.sms.blast import BlastInvalid, blast_prepare, variant_pick
from messaging.models import Message, MessageShortLink
from prospects.models import Prospect, Suppression
from tests.campaigns.sms.helpers import blast, sender_pool
from tests.factories import SuppressionFactory, make_prospect

# A Monday, 12:00 in New York, 09:00 in Los Angeles, 07:00 in Honolulu.
MONDAY = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)


@pytest.fixture
def pool(org):
    return sender_pool(org, "+14156660001", "+12126660002")


def texts(campaign):
    return {m.to: m for m in Message.objects.filter(campaign=campaign)}


def test_each_exclusion_is_left_out_and_counted(org, other_org, pool):
    campaign = blast(org, pool)
    included = make_prospect(campaign, "+14155550101", first_name="Ann")
    dnc = make_prospect(campaign, "+14155550102")
    stop = make_prospect(campaign, "+14155550103")
    capped = make_prospect(campaign, "+14155550104")
    long_ago = make_prospect(campaign, "+14155550105")
    no_number = make_prospect(campaign)
    SuppressionFactory(organization=org, e164="+14155550102", reason=Suppression.Reason.DNC)
    SuppressionFactory(organization=org, e164="+14155550103", reason=Suppression.Reason.STOP)
    SuppressionFactory(organization=other_org, e164="+14155550101")  # another org's list
    earlier = blast(org, pool)
    Message.objects.create(organization=org, campaign=earlier, to="+14155550104", body="x",
                           status="delivered", created_at=MONDAY - timedelta(hours=2))  # fmt: skip
    Message.objects.create(organization=org, campaign=earlier, to="+14155550105", body="x",
                           status="delivered", created_at=MONDAY - timedelta(hours=30))  # fmt: skip

    audience = blast_prepare(campaign=campaign, now=MONDAY)

    assert audience == {
        "evaluated": 6, "queued": 2, "suppressed": 1, "unsubscribed": 1,
        "frequency_capped": 1, "invalid_number": 1,
    }  # fmt: skip
    assert set(texts(campaign)) == {"+14155550101", "+14155550105"}
    assert texts(campaign)["+14155550101"].body == "Hi Ann!"
    outcome = dict(Prospect.objects.filter(campaign=campaign).values_list("id", "last_outcome"))
    assert outcome == {
        included.id: "", dnc.id: "suppressed", stop.id: "unsubscribed",
        capped.id: "frequency_capped", long_ago.id: "", no_number.id: "invalid_number",
    }  # fmt: skip
    statuses = dict(Prospect.objects.filter(campaign=campaign).values_list("id", "status"))
    assert statuses[included.id] == statuses[long_ago.id] == "sending"
    assert statuses[dnc.id] == statuses[no_number.id] == "cancelled"
    campaign.refresh_from_db()
    assert campaign.audience == audience


def test_no_frequency_cap_texts_anyone_again(org, pool):
    campaign = blast(org, pool, frequency_cap_hours=0)
    make_prospect(campaign, "+14155550104")
    Message.objects.create(organization=org, to="+14155550104", body="x", status="delivered")
    assert blast_prepare(campaign=campaign, now=MONDAY)["queued"] == 1


def test_variants_split_the_audience_by_their_percentages_and_stably(org, pool):
    campaign = blast(org, pool, ("A text", 30), ("B text", 70))
    for n in range(2000):
        make_prospect(campaign, f"+1415555{n:04d}")
    blast_prepare(campaign=campaign, now=MONDAY)
    bodies = list(Message.objects.filter(campaign=campaign).values_list("body", flat=True))
    share = bodies.count("A text") / len(bodies)
    assert 0.27 <= share <= 0.33
    variants = list(campaign.variants.all())
    for m in Message.objects.filter(campaign=campaign)[:50]:
        assert variant_pick(campaign.id, m.prospect_id, variants).id == m.variant_id


def test_placeholders_take_values_attributes_and_defaults(org, pool):
    campaign = blast(org, pool, ("Hi {first_name|there}, {company} has news", 100))
    make_prospect(campaign, "+14155550101", first_name="Ann", attributes={"company": "Acme"})
    make_prospect(campaign, "+14155550102", first_name="", attributes={"company": "Initech"})
    blast_prepare(campaign=campaign, now=MONDAY)
    assert {m.to: m.body for m in Message.objects.filter(campaign=campaign)} == {
        "+14155550101": "Hi Ann, Acme has news",
        "+14155550102": "Hi there, Initech has news",
    }


@pytest.mark.parametrize("sms_mode", ["blast", "drip"])  # a drip's start checks it the same way
def test_a_placeholder_without_value_or_default_is_named_and_nothing_is_written(
    org, pool, sms_mode
):
    campaign = blast(org, pool, ("Hi {first_name}, {company} has news", 100), sms_mode=sms_mode)
    make_prospect(campaign, "+14155550101", first_name="Ann", attributes={"company": "Acme"})
    make_prospect(campaign, "+14155550102", first_name="Bob")
    with pytest.raises(BlastInvalid, match=r"\{company\}.*1 prospect"):
        campaign_start(campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == "created"
    assert not Message.objects.exists()
    assert set(Prospect.objects.values_list("status", flat=True)) == {"queued"}


@pytest.mark.parametrize(
    "variants, message",
    [
        ((), "no message"),
        ((("A", 50), ("B", 40)), "add up to 90"),
        ((("  ", 100),), "has no text"),
    ],
)
def test_a_blast_without_a_valid_message_does_not_start(org, pool, variants, message):
    campaign = blast(org, pool)
    campaign.variants.all().delete()
    for i, (body, pct) in enumerate(variants):
        campaign.variants.create(name=str(i), body=body, percentage=pct)
    make_prospect(campaign, "+14155550101")
    with pytest.raises(BlastInvalid, match=message):
        campaign_start(campaign=campaign)
    assert Campaign.objects.get(pk=campaign.pk).status == "created"


def test_a_blast_needs_senders_and_an_audience(org, pool):
    campaign = blast(org, None)
    make_prospect(campaign, "+14155550101")
    with pytest.raises(BlastInvalid, match="sender pool"):
        campaign_start(campaign=campaign)
    pool.dids.update(sms_enabled=False)
    campaign.sender_pool = pool
    campaign.save()
    with pytest.raises(BlastInvalid, match="no active SMS-enabled"):
        campaign_start(campaign=campaign)
    pool.dids.update(sms_enabled=True)
    Prospect.objects.update(status="cancelled")
    with pytest.raises(BlastInvalid, match="audience is empty"):
        campaign_start(campaign=campaign)
    campaign_start_ok = blast(org, pool)
    make_prospect(campaign_start_ok, "+14155550109")
    assert campaign_start(campaign=campaign_start_ok).status == "dialing"


def test_the_api_start_of_an_invalid_blast_is_400_naming_the_problem(api, org, pool):
    campaign = blast(org, pool, ("Hi {nickname}", 100))
    make_prospect(campaign, "+14155550101")
    response = api.post(f"/api/v1/campaigns/{campaign.pk}/start/")
    assert response.status_code == 400
    assert "{nickname}" in response.json()["detail"]
    assert Campaign.objects.get(pk=campaign.pk).status == "created"


def test_urls_become_short_links_one_per_text(org, pool):
    campaign = blast(org, pool, ("Sale! https://shop.example.com/spring?src=sms today", 100))
    make_prospect(campaign, "+14155550101")
    make_prospect(campaign, "+14155550102")
    blast_prepare(campaign=campaign, now=MONDAY)
    links = list(MessageShortLink.objects.filter(campaign=campaign))
    assert len(links) == 2 and len({link.code for link in links}) == 2
    for link in links:
        assert link.url == "https://shop.example.com/spring?src=sms"
        body = link.message.body
        assert body == f"Sale! {settings.PUBLIC_BASE_URL}/l/{link.code} today"


def test_senders_same_area_code_first_and_a_number_keeps_its_sender(org, pool):
    campaign = blast(org, pool)
    make_prospect(campaign, "+12125550101")
    make_prospect(campaign, "+14155550102")
    make_prospect(campaign, "+16175550103")  # no 617 sender
    earlier = blast(org, pool)
    sticky = pool.dids.get(e164="+14156660001")
    Message.objects.create(organization=org, campaign=earlier, to="+16175550103", body="x",
                           sender=sticky, status="delivered",
                           created_at=MONDAY - timedelta(days=5))  # fmt: skip
    blast_prepare(campaign=campaign, now=MONDAY)
    sent_from = {m.to: m.from_number for m in Message.objects.filter(campaign=campaign)}
    assert sent_from == {
        "+12125550101": "+12126660002",
        "+14155550102": "+14156660001",
        "+16175550103": "+14156660001",
    }


def test_send_times_follow_the_senders_rate_and_the_recipients_window(org):
    pool = sender_pool(org, "+14156660001", mps=2)
    campaign = blast(org, pool)
    for n in range(4):
        make_prospect(campaign, f"+1415555010{n}")
    make_prospect(campaign, "+18085550100")  # Honolulu: 05:00, opens at 08:00
    audience = blast_prepare(campaign=campaign, now=MONDAY)
    assert audience["waiting_for_window"] == 1
    at = {m.to: m.send_at for m in Message.objects.filter(campaign=campaign)}
    offsets = sorted((t - MONDAY).total_seconds() for to, t in at.items() if to[2:5] == "415")
    assert offsets == pytest.approx([0, 0.5, 1.0, 1.5], abs=0.01)
    assert at["+18085550100"] == datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
