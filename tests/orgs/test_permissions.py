"""The scope table: each endpoint against keys holding exactly one scope, for every scope.

A key with an allowed scope gets the endpoint's success status; any other key gets a 403
naming the scopes it needs, and nothing changes.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns.models import CallAttempt, Campaign
from dids.models import Did, SenderPool
from messaging.models import Message
from orgs.models import ALL_SCOPES, Organization
from prospects.models import Prospect, Suppression
from tests.factories import (
    CampaignFactory,
    DidFactory,
    MessageFactory,
    OneOffCallFactory,
    SenderPoolFactory,
    SuppressionFactory,
    make_alert,
    make_prospect,
)

C_READ, C_MANAGE = "campaigns:read", "campaigns:manage"
P_READ, P_MANAGE = "prospects:read", "prospects:manage"
D_READ, D_MANAGE = "dids:read", "dids:manage"
S_READ, S_MANAGE = "suppression:read", "suppression:manage"
CC_READ, CC_MANAGE = "concurrency:read", "concurrency:manage"
CALLS_READ, CALLS_MANAGE = "calls:read", "calls:manage"
M_READ, M_MANAGE = "messages:read", "messages:manage"
B_READ, B_MANAGE = "billing:read", "billing:manage"
A_READ, A_MANAGE = "alerts:read", "alerts:manage"
NEVER = datetime(2100, 1, 1, tzinfo=UTC)  # a cooldown only a release ends
# Placing a call, answered without the carrier: a retry of the call make_objects() made.
RETRIED_CALL = {"to": "+18005550101", "twiml": "<Response/>", "idempotency_key": "scope-table"}


def csv_upload():
    return {"file": SimpleUploadedFile("list.csv", b"phone\n3125550188\n", "text/csv")}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    allowed: tuple[str, ...]
    ok: int
    body: dict | None = None
    upload: bool = False

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ENDPOINTS = [
    Endpoint("get", "/api/v1/campaigns/", (C_READ, C_MANAGE), 200),
    Endpoint("get", "/api/v1/campaigns/{campaign}/", (C_READ, C_MANAGE), 200),
    Endpoint("post", "/api/v1/campaigns/", (C_MANAGE,), 201, {"name": "New"}),
    Endpoint("put", "/api/v1/campaigns/{campaign}/", (C_MANAGE,), 200, {"name": "Renamed"}),
    Endpoint("patch", "/api/v1/campaigns/{campaign}/", (C_MANAGE,), 200, {"priority": 3}),
    Endpoint("delete", "/api/v1/campaigns/{campaign}/", (C_MANAGE,), 204),
    Endpoint(
        "post", "/api/v1/campaigns/{campaign}/prospects/import/", (P_MANAGE,), 200, None, True
    ),
    Endpoint("get", "/api/v1/prospects/", (P_READ, P_MANAGE), 200),
    Endpoint("get", "/api/v1/prospects/{prospect}/", (P_READ, P_MANAGE), 200),
    Endpoint("delete", "/api/v1/prospects/{prospect}/", (P_MANAGE,), 204),
    Endpoint("get", "/api/v1/dids/", (D_READ, D_MANAGE), 200),
    Endpoint("get", "/api/v1/dids/{did}/", (D_READ, D_MANAGE), 200),
    Endpoint("post", "/api/v1/dids/", (D_MANAGE,), 201, {"phone_number": "(415) 555-0199"}),
    Endpoint("put", "/api/v1/dids/{did}/", (D_MANAGE,), 200, {"friendly_name": "Main"}),
    Endpoint("patch", "/api/v1/dids/{did}/", (D_MANAGE,), 200, {"voice_enabled": False}),
    Endpoint("delete", "/api/v1/dids/{did}/", (D_MANAGE,), 204),
    Endpoint("post", "/api/v1/dids/{cooling_did}/release/", (D_MANAGE,), 200),
    Endpoint("get", "/api/v1/dids/health/", (D_READ, D_MANAGE), 200),
    Endpoint("get", "/api/v1/dids/health/report/", (D_READ, D_MANAGE), 200),
    Endpoint("get", "/api/v1/sender-pools/", (D_READ, D_MANAGE), 200),
    Endpoint("get", "/api/v1/sender-pools/{pool}/", (D_READ, D_MANAGE), 200),
    Endpoint("post", "/api/v1/sender-pools/", (D_MANAGE,), 201, {"name": "New"}),
    Endpoint("patch", "/api/v1/sender-pools/{pool}/", (D_MANAGE,), 200, {"rate_per_minute": 5}),
    Endpoint("delete", "/api/v1/sender-pools/{pool}/", (D_MANAGE,), 204),
    Endpoint("get", "/api/v1/suppressions/", (S_READ, S_MANAGE), 200),
    Endpoint("get", "/api/v1/suppressions/{suppression}/", (S_READ, S_MANAGE), 200),
    Endpoint("post", "/api/v1/suppressions/", (S_MANAGE,), 201, {"phone_number": "2125550199"}),
    Endpoint("patch", "/api/v1/suppressions/{suppression}/", (S_MANAGE,), 200, {"reason": "stop"}),
    Endpoint("delete", "/api/v1/suppressions/{suppression}/", (S_MANAGE,), 204),
    Endpoint("post", "/api/v1/suppressions/import/", (S_MANAGE,), 200, None, True),
    Endpoint(
        "get",
        "/api/v1/campaign/concurrency-settings",
        (C_READ, C_MANAGE, CC_READ, CC_MANAGE),
        200,
    ),
    Endpoint(
        "put",
        "/api/v1/campaign/concurrency-settings",
        (C_MANAGE, CC_MANAGE),
        200,
        {"concurrency_limit": 25},
    ),
    Endpoint("get", "/api/v1/calls/", (CALLS_READ, CALLS_MANAGE), 200),
    Endpoint("get", "/api/v1/calls/{call}/", (CALLS_READ, CALLS_MANAGE), 200),
    Endpoint("post", "/api/v1/calls/", (CALLS_MANAGE,), 200, RETRIED_CALL),
    Endpoint("get", "/api/v1/messages/", (M_READ, M_MANAGE), 200),
    Endpoint("get", "/api/v1/messages/{message}/", (M_READ, M_MANAGE), 200),
    Endpoint("get", "/api/v1/dead-letters/", (M_READ, M_MANAGE), 200),
    Endpoint("get", "/api/v1/dead-letters/summary/", (M_READ, M_MANAGE), 200),
    Endpoint("post", "/api/v1/dead-letters/retry/", (M_MANAGE,), 200, {"failure_reason": "STALE"}),
    Endpoint("get", "/api/v1/credits/", (B_READ, B_MANAGE), 200),
    Endpoint("post", "/api/v1/credits/", (B_MANAGE,), 200, {"add": 5}),
    Endpoint("get", "/api/v1/blocked-words/", (C_READ, C_MANAGE), 200),
    Endpoint("put", "/api/v1/blocked-words/", (C_MANAGE,), 200, {"blocked_words": ["casino"]}),
    Endpoint("get", "/api/v1/alerts/", (A_READ, A_MANAGE), 200),
    Endpoint("get", "/api/v1/alerts/{alert}/", (A_READ, A_MANAGE), 200),
    Endpoint("get", "/api/v1/alerts/settings/", (A_READ, A_MANAGE), 200),
    Endpoint(
        "patch",
        "/api/v1/alerts/settings/",
        (A_MANAGE,),
        200,
        {"alert_webhook_url": "https://hooks.test/other"},
    ),
    Endpoint("post", "/api/v1/alerts/settings/rotate-secret/", (A_MANAGE,), 200),
]


def make_objects(org) -> dict:
    """Fresh rows for every path placeholder (an allowed write may remove them)."""
    campaign = CampaignFactory(organization=org)
    return {
        "campaign": campaign.pk,
        "prospect": make_prospect(campaign, "+14155550101").pk,
        "did": DidFactory(organization=org).pk,
        "cooling_did": DidFactory(organization=org, state="cooling", cooldown_until=NEVER).pk,
        "suppression": SuppressionFactory(organization=org).pk,
        "pool": SenderPoolFactory(organization=org).pk,
        "message": MessageFactory(campaign=campaign, status="failed", failure_reason="STALE").pk,
        "call": (
            CallAttempt.objects.filter(organization=org, idempotency_key="scope-table").first()
            or OneOffCallFactory(organization=org, to="+18005550101", idempotency_key="scope-table")
        ).pk,
        "alert": make_alert(org).pk,
    }


def call(client, endpoint: Endpoint, ids: dict):
    url = endpoint.path.format(**ids)
    if endpoint.upload:
        return client.post(url, csv_upload(), format="multipart")
    return getattr(client, endpoint.method)(url, endpoint.body, format="json")


def state(org) -> dict:
    """What a denied request must leave as it was."""
    return {
        "campaigns": list(Campaign.objects.values_list("id", "name", "priority")),
        "prospects": list(Prospect.objects.values_list("id", flat=True)),
        "dids": list(Did.objects.values_list("id", "friendly_name", "voice_enabled", "state")),
        "suppressions": list(Suppression.objects.values_list("id", "reason")),
        "calls": list(CallAttempt.objects.values_list("id", "status")),
        "pools": list(SenderPool.objects.values_list("id", "name", "rate_per_minute")),
        "messages": list(Message.objects.values_list("id", "status")),
        "org": Organization.objects.values_list(
            "concurrency_limit", "sms_credits", "blocked_words"
        ).get(pk=org.pk),
        "alerts": Organization.objects.values_list("alert_webhook_url", "alert_secret").get(
            pk=org.pk
        ),
    }


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_scope_table(client_with_scopes, org, endpoint):
    ids = make_objects(org)
    for scope in sorted(set(ALL_SCOPES) - set(endpoint.allowed)):
        before = state(org)
        response = call(client_with_scopes(scope), endpoint, ids)
        assert (scope, response.status_code) == (scope, 403)
        detail = response.json()["detail"]
        assert all(needed in detail for needed in endpoint.allowed)
        assert state(org) == before, scope
    for scope in endpoint.allowed:
        response = call(client_with_scopes(scope), endpoint, make_objects(org))
        assert (scope, response.status_code) == (scope, endpoint.ok), response.content


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_a_key_without_scopes_may_do_nothing(client_with_scopes, org, endpoint):
    ids = make_objects(org)
    before = state(org)
    assert call(client_with_scopes(), endpoint, ids).status_code == 403
    assert state(org) == before


def test_several_scopes_combine(client_with_scopes, campaign):
    client = client_with_scopes(C_READ, P_MANAGE)
    assert client.get("/api/v1/campaigns/").status_code == 200
    assert client.post("/api/v1/campaigns/", {"name": "x"}, format="json").status_code == 403
    upload = csv_upload()
    response = client.post(f"/api/v1/campaigns/{campaign.pk}/prospects/import/", upload)
    assert response.status_code == 200
