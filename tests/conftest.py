"""Fixtures: every test gets two organizations, so each can assert nothing leaks between them."""

import ipaddress
import socket

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from orgs.models import ALL_SCOPES
from tests.factories import CampaignFactory, OrganizationFactory, make_key

_real_connect = socket.socket.connect


def _guarded_connect(self, address):
    host = address[0] if isinstance(address, tuple) else None
    if host is not None:
        try:
            local = ipaddress.ip_address(host).is_loopback
        except ValueError:
            local = host in ("localhost",)
        if not local:
            raise RuntimeError(f"unexpected outbound connection to {address!r} in a test")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_outbound_network(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield


@pytest.fixture
def org(db):
    return OrganizationFactory(name="Acme", slug="acme")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(name="Globex", slug="globex")


@pytest.fixture
def campaign(org):
    return CampaignFactory(organization=org, name="Acme spring")


@pytest.fixture
def other_campaign(other_org):
    return CampaignFactory(organization=other_org, name="Globex spring")


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def api(org, other_org):
    """A client with an all-scopes key of `org` (the other org exists too)."""
    return _client(make_key(org, ALL_SCOPES))


@pytest.fixture
def other_api(other_org):
    return _client(make_key(other_org, ALL_SCOPES))


@pytest.fixture
def client_with_scopes(org):
    def make(*scopes):
        return _client(make_key(org, scopes))

    return make
