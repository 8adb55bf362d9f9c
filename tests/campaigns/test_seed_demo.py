"""`seed_demo`: the demo organization and a fresh campaign whose every prospect may be called
now, at any hour of the year, however often it runs."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from campaigns.management.commands.seed_demo import (
    DEMO_CAMPAIGN,
    callable_prefixes,
    fictional_number,
)
from campaigns.models import Campaign
from dids.models import Did
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


def seed(tmp_path, prospects: int) -> str:
    out = io.StringIO()
    call_command("seed_demo", prospects=prospects, key_file=str(tmp_path / "key"), stdout=out)
    return out.getvalue()


def test_seeding_again_replaces_the_campaign_and_keeps_the_rest(db, tmp_path):
    first = seed(tmp_path, 40)
    second = seed(tmp_path, 30)

    assert first.splitlines()[-1] == second.splitlines()[-1]  # the same API key
    campaign = Campaign.objects.get(organization__slug="demo", name=DEMO_CAMPAIGN)
    assert Prospect.objects.filter(campaign=campaign).count() == 30
    assert Prospect.objects.count() == 30  # the first campaign's prospects went with it
    assert Prospect.objects.filter(status="suppressed").count() == 1
    assert Suppression.objects.filter(source="demo").count() == 1
    assert Did.objects.filter(organization=campaign.organization, state="active").count() == 20
    now = timezone.now()
    for e164 in ProspectPhone.objects.filter(campaign=campaign).values_list("e164", flat=True):
        assert windows.check(e164, now).allowed, e164
