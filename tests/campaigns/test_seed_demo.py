"""`seed_demo`: the demo organization, a fresh voice campaign whose every prospect may be called
now, at any hour of the year, however often it runs, and a fresh SMS blast ready to start."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from campaigns.management.commands.seed_demo import (
    DEMO_BLAST,
    DEMO_CAMPAIGN,
    FLAGGED_PLAN,
    callable_prefixes,
    fictional_number,
)
from campaigns.models import Campaign
from campaigns.services import campaign_start
from dids.models import Did
from orgs.models import Organization
from prospects import windows
from prospects.models import Prospect, ProspectPhone, Suppression

MARGIN = dt.timedelta(minutes=30)


@pytest.mark.parametrize("month", [1, 7])  # standard time and daylight saving time
def test_some_prefix_stays_callable_for_the_margin_at_every_quarter_hour(month):
    day = dt.datetime(2026, month, 14, tzinfo=dt.UTC)
    for quarter in range(24 * 4):
        now = day + dt.timedelta(minutes=15 * quarter)
        prefixes = callable_prefixes(now, MARGIN)
        assert prefixes, now
        for prefix in prefixes:
            for at in (now, now + MARGIN):
                assert windows.check(fictional_number(prefix, 100), at).allowed, (prefix, at)


def seed(tmp_path, prospects: int, sms_prospects: int = 0) -> str:
    out = io.StringIO()
    call_command(
        "seed_demo",
        prospects=prospects,
        sms_prospects=sms_prospects,
        key_file=str(tmp_path / "key"),
        stdout=out,
    )
    return out.getvalue()


def test_seeding_again_replaces_the_campaign_and_keeps_the_rest(db, tmp_path):
    first = seed(tmp_path, 40)
    second = seed(tmp_path, 30)

    assert first.splitlines()[-1] == second.splitlines()[-1]  # the same API key
    campaign = Campaign.objects.get(organization__slug="demo", name=DEMO_CAMPAIGN)
    assert Prospect.objects.filter(campaign=campaign).count() == 30
    assert Prospect.objects.count() == 30  # the first campaign's prospects went with it
    assert not Campaign.objects.filter(name=DEMO_BLAST).exists()  # none asked for
    assert Prospect.objects.filter(status="suppressed").count() == 1
    assert Suppression.objects.filter(source="demo").count() == 1
    assert Did.objects.filter(organization=campaign.organization, state="active").count() == 20
    now = timezone.now()
    for e164 in ProspectPhone.objects.filter(campaign=campaign).values_list("e164", flat=True):
        assert windows.check(e164, now).allowed, e164


def test_the_blast_texts_from_the_demo_caller_ids_and_starts_with_every_guardrail(db, tmp_path):
    seed(tmp_path, 10, sms_prospects=800)
    seed(tmp_path, 10, sms_prospects=600)  # replaces the blast, keeps one pool

    blast = Campaign.objects.get(organization__slug="demo", name=DEMO_BLAST)
    org = blast.organization
    assert (blast.channel, blast.sms_mode) == ("sms", "blast")
    assert set(blast.sender_pool.dids.all()) == set(Did.objects.filter(organization=org))
    assert blast.sender_pool.dids.count() == 20
    assert sorted(blast.variants.values_list("percentage", flat=True)) == [50, 50]
    assert Prospect.objects.filter(campaign=blast).count() == 600
    assert Suppression.objects.filter(source="demo-sms").count() == 6
    assert org.sms_credits == 3 * 600

    campaign_start(campaign=blast)
    blast.refresh_from_db()
    assert blast.audience["evaluated"] == 600 - 6  # the DNC numbers were never queued
    assert blast.audience["queued"] == 600 - 6
    texts = blast.messages.all()
    assert texts.filter(body__contains="/l/").exists()  # the link became a short link
    assert texts.filter(body__contains=FLAGGED_PLAN).count() == 1  # caught when sent
    assert Organization.objects.get(pk=org.pk).blocked_words == ["casino"]
    now = timezone.now()
    for e164 in texts.values_list("to", flat=True):
        assert windows.check(e164, now, channel="sms").allowed, e164
