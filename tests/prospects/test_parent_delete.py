"""Prospects and their numbers point at their campaign and org without a database constraint
(it halved import speed), so deletes must still take every child with them, even while an
import into the campaign is running."""

import io
import threading

import pytest
from django.db import connection, transaction

from campaigns.models import Campaign
from orgs.models import Organization
from prospects.importing import ImportFileError, prospects_import
from prospects.models import Prospect, ProspectPhone
from tests.factories import CampaignFactory, make_prospect


def orphans() -> tuple[int, int]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM prospects_prospect p WHERE NOT EXISTS "
            "(SELECT 1 FROM campaigns_campaign c WHERE c.id = p.campaign_id) OR NOT EXISTS "
            "(SELECT 1 FROM orgs_organization o WHERE o.id = p.organization_id)"
        )
        prospects = cur.fetchone()[0]
        cur.execute(
            "SELECT count(*) FROM prospects_prospectphone n WHERE NOT EXISTS "
            "(SELECT 1 FROM campaigns_campaign c WHERE c.id = n.campaign_id)"
        )
        return prospects, cur.fetchone()[0]


def test_deleting_a_campaign_deletes_its_prospects_and_numbers(campaign, other_campaign):
    make_prospect(campaign, "+14155550101", "+14155550102")
    kept = make_prospect(other_campaign, "+14155550101")
    campaign.delete()
    assert list(Prospect.objects.all()) == [kept]
    assert list(ProspectPhone.objects.values_list("campaign_id", flat=True)) == [other_campaign.id]
    assert orphans() == (0, 0)


def test_deleting_campaigns_in_bulk_and_an_org_leave_no_orphans(org, other_org, campaign):
    second = CampaignFactory(organization=org)
    make_prospect(campaign, "+14155550101")
    make_prospect(second, "+14155550102")
    Campaign.objects.filter(pk=second.pk).delete()
    assert Prospect.objects.filter(campaign_id=second.pk).count() == 0
    assert Prospect.objects.count() == 1
    org.delete()
    assert Prospect.objects.count() == 0 and ProspectPhone.objects.count() == 0
    assert Organization.objects.filter(pk=other_org.pk).exists()
    assert orphans() == (0, 0)


@pytest.mark.django_db(transaction=True)
def test_a_delete_during_an_import_waits_for_it_and_takes_its_rows():
    org = Organization.objects.create(name="Acme", slug="acme")
    campaign = CampaignFactory(organization=org)
    rows = "phone\n" + "".join(f"41555{i:05d}\n" for i in range(2_000))
    reading = threading.Event()
    release = threading.Event()

    def slow_progress(_bytes):
        # Called as the file is read; hold the import once it has locked the campaign.
        if connection.in_atomic_block:
            reading.set()
            release.wait(10)

    outcome = {}

    def do_import():
        try:
            outcome["result"] = prospects_import(
                campaign=campaign, fileobj=io.BytesIO(rows.encode()), progress=slow_progress
            )
        finally:
            connection.close()

    def do_delete():
        try:
            Campaign.objects.get(pk=campaign.pk).delete()
            outcome["deleted"] = True
        finally:
            connection.close()

    importer = threading.Thread(target=do_import)
    importer.start()
    assert reading.wait(10)
    deleter = threading.Thread(target=do_delete)
    deleter.start()
    deleter.join(0.5)
    assert deleter.is_alive(), "the delete must wait for the import's lock"
    release.set()
    importer.join(10)
    deleter.join(10)
    assert outcome["result"]["imported"] == 2_000 and outcome["deleted"]
    assert Prospect.objects.count() == 0 and ProspectPhone.objects.count() == 0
    assert orphans() == (0, 0)


def test_an_import_into_a_deleted_campaign_is_refused(org):
    gone = CampaignFactory(organization=org)
    Campaign.objects.filter(pk=gone.pk).delete()
    with pytest.raises(ImportFileError, match="deleted"), transaction.atomic():
        prospects_import(campaign=gone, fileobj=io.BytesIO(b"phone\n4155550101\n"))
    assert Prospect.objects.count() == 0
