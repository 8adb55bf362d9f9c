"""The API is throttled per key and per organization: an org's many keys share its rate."""

import pytest
from rest_framework.test import APIClient

from orgs.api.base import ApiKeyRateThrottle, OrgRateThrottle
from orgs.models import ALL_SCOPES
from tests.factories import make_key

pytestmark = pytest.mark.django_db


def client(org) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(org, ALL_SCOPES)}")
    return api


@pytest.fixture
def rates(monkeypatch):
    """A key may make 100 requests a minute, its organization 3 (the class attribute is what
    DRF's throttles read their rates from)."""
    rates = {"api_key": "100/min", "org": "3/min"}
    for throttle in (ApiKeyRateThrottle, OrgRateThrottle):
        monkeypatch.setattr(throttle, "THROTTLE_RATES", rates)


def test_an_orgs_keys_share_its_rate(org, other_org, rates):
    first, second, other = client(org), client(org), client(other_org)
    statuses = [k.get("/api/v1/campaigns/").status_code for k in (first, second, first)]
    assert statuses == [200, 200, 200]

    refused = second.get("/api/v1/campaigns/")

    assert refused.status_code == 429
    assert "Retry-After" in refused
    assert other.get("/api/v1/campaigns/").status_code == 200  # another org has its own
