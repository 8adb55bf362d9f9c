"""Another organization's rows: 404 on every id-addressed endpoint, absent from every list."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from campaigns.models import CallAttempt, Campaign
from dids.models import Did, SenderPool
from messaging.models import Message
from orgs.models import AlertDelivery
from prospects.models import Prospect, ProspectPhone, Suppression
from tests.factories import (
    DidFactory,
    MessageFactory,
    OneOffCallFactory,
    SenderPoolFactory,
    SuppressionFactory,
    make_alert,
    make_prospect,
)


@pytest.fixture
def theirs(other_campaign):
    """One of each row, owned by the other organization."""
    other_org = other_campaign.organization
    return {
        "campaign": other_campaign.pk,
        "prospect": make_prospect(other_campaign, "+14155550101").pk,
        "did": DidFactory(  # cooling, so that a release would change it
            organization=other_org, state="cooling", cooldown_until=timezone.now()
        ).pk,
        "suppression": SuppressionFactory(organization=other_org).pk,
        "call": OneOffCallFactory(organization=other_org).pk,
        "pool": SenderPoolFactory(organization=other_org).pk,
        "message": MessageFactory(
            campaign=other_campaign, status="failed", failure_reason="STALE"
        ).pk,
        "alert": make_alert(other_org).pk,
    }


@pytest.fixture
def ours(campaign):
    org = campaign.organization
    return {
        "campaign": campaign.pk,
        "prospect": make_prospect(campaign, "+14155550102").pk,
        "did": DidFactory(organization=org).pk,
        "suppression": SuppressionFactory(organization=org).pk,
        "call": OneOffCallFactory(organization=org).pk,
        "pool": SenderPoolFactory(organization=org).pk,
        "message": MessageFactory(campaign=campaign, status="failed", failure_reason="STALE").pk,
        "alert": make_alert(org).pk,
    }


def snapshot() -> dict:
    return {
        "campaigns": list(Campaign.objects.order_by("id").values()),
        "prospects": list(Prospect.objects.order_by("id").values("id", "status")),
        "phones": list(ProspectPhone.objects.order_by("id").values("id", "e164")),
        "dids": list(Did.objects.order_by("id").values()),
        "suppressions": list(Suppression.objects.order_by("id").values()),
        "calls": list(CallAttempt.objects.order_by("id").values()),
        "pools": list(SenderPool.objects.order_by("id").values()),
        "pool_dids": list(SenderPool.dids.through.objects.order_by("id").values()),
        "messages": list(Message.objects.order_by("id").values()),
        "alerts": list(AlertDelivery.objects.order_by("id").values()),
    }


BY_ID = [
    ("get", "/api/v1/campaigns/{campaign}/", None),
    ("put", "/api/v1/campaigns/{campaign}/", {"name": "Mine now"}),
    ("patch", "/api/v1/campaigns/{campaign}/", {"name": "Mine now"}),
    ("delete", "/api/v1/campaigns/{campaign}/", None),
    ("get", "/api/v1/prospects/{prospect}/", None),
    ("delete", "/api/v1/prospects/{prospect}/", None),
    ("get", "/api/v1/dids/{did}/", None),
    ("put", "/api/v1/dids/{did}/", {"friendly_name": "Mine now"}),
    ("patch", "/api/v1/dids/{did}/", {"phone_number": "2125550100"}),
    ("delete", "/api/v1/dids/{did}/", None),
    ("post", "/api/v1/dids/{did}/release/", None),
    ("get", "/api/v1/suppressions/{suppression}/", None),
    ("put", "/api/v1/suppressions/{suppression}/", {"reason": "stop"}),
    ("patch", "/api/v1/suppressions/{suppression}/", {"reason": "stop"}),
    ("delete", "/api/v1/suppressions/{suppression}/", None),
    ("get", "/api/v1/calls/{call}/", None),
    ("get", "/api/v1/sender-pools/{pool}/", None),
    ("put", "/api/v1/sender-pools/{pool}/", {"name": "Mine now"}),
    ("patch", "/api/v1/sender-pools/{pool}/", {"dids": []}),
    ("delete", "/api/v1/sender-pools/{pool}/", None),
    ("get", "/api/v1/messages/{message}/", None),
    ("get", "/api/v1/alerts/{alert}/", None),
]


@pytest.mark.parametrize("method, path, body", BY_ID, ids=[f"{m} {p}" for m, p, _ in BY_ID])
def test_another_orgs_ids_are_not_found(api, theirs, method, path, body):
    before = snapshot()
    response = getattr(api, method)(path.format(**theirs), body, format="json")
    assert response.status_code == 404
    assert snapshot() == before


def test_importing_into_another_orgs_campaign_is_not_found(api, theirs):
    before = snapshot()
    upload = SimpleUploadedFile("p.csv", b"phone\n3125550111\n", "text/csv")
    response = api.post(
        f"/api/v1/campaigns/{theirs['campaign']}/prospects/import/",
        {"file": upload},
        format="multipart",
    )
    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize(
    "path, kind",
    [
        ("/api/v1/campaigns/", "campaign"),
        ("/api/v1/prospects/", "prospect"),
        ("/api/v1/dids/", "did"),
        ("/api/v1/dids/health/", "did"),
        ("/api/v1/suppressions/", "suppression"),
        ("/api/v1/calls/", "call"),
        ("/api/v1/sender-pools/", "pool"),
        ("/api/v1/messages/", "message"),
        ("/api/v1/dead-letters/", "message"),
        ("/api/v1/alerts/", "alert"),
    ],
)
def test_lists_show_only_the_callers_rows(api, other_api, ours, theirs, path, kind):
    mine = [row["id"] for row in api.get(path).json()["results"]]
    their_view = [row["id"] for row in other_api.get(path).json()["results"]]
    assert mine == [ours[kind]]
    assert their_view == [theirs[kind]]


def test_filtering_prospects_by_another_orgs_campaign_is_rejected(api, ours, theirs):
    response = api.get("/api/v1/prospects/", {"campaign": theirs["campaign"]})
    assert response.status_code == 400
    assert "campaign" in response.json()
    missing = api.get("/api/v1/prospects/", {"campaign": theirs["campaign"] + 1000})
    assert missing.status_code == 400
    assert missing.json() == response.json()


def test_suppression_import_writes_only_to_the_callers_list(api, org, other_org):
    SuppressionFactory(organization=other_org, e164="+12125550101")
    upload = SimpleUploadedFile("dnc.csv", b"phone\n2125550101\n", "text/csv")
    response = api.post("/api/v1/suppressions/import/", {"file": upload}, format="multipart")
    assert response.status_code == 200
    assert response.json()["imported"] == 1  # not a duplicate of the other org's entry
    assert Suppression.objects.filter(organization=org, e164="+12125550101").exists()
    assert Suppression.objects.filter(organization=other_org).count() == 1


def test_concurrency_settings_are_the_callers_own(api, other_api, org, other_org):
    assert api.put("/api/v1/campaign/concurrency-settings", {"concurrency_limit": 77}).json() == {
        "concurrency_limit": 77
    }
    other_org.refresh_from_db()
    assert other_org.concurrency_limit == 10
    assert other_api.get("/api/v1/campaign/concurrency-settings").json() == {
        "concurrency_limit": 10
    }


def test_creates_are_stamped_with_the_callers_org(api, org):
    response = api.post(
        "/api/v1/campaigns/", {"name": "Mine", "organization": 999999}, format="json"
    )
    assert response.status_code == 201
    assert Campaign.objects.get(pk=response.json()["id"]).organization == org


def test_retrying_another_orgs_dead_letters_touches_nothing(api, theirs):
    before = snapshot()
    response = api.post("/api/v1/dead-letters/retry/", {"ids": [theirs["message"]]}, format="json")
    assert response.json() == {"requeued": 0, "skipped": 1}
    response = api.post("/api/v1/dead-letters/retry/", {"failure_reason": "STALE"}, format="json")
    assert response.json() == {"requeued": 0, "skipped": 0}
    assert snapshot() == before
