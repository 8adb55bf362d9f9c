"""`Authorization: Bearer <key>`: every way a key can be wrong is a 401; a valid key works."""

import pytest
from rest_framework.test import APIClient

from orgs.models import ApiKey, Organization
from orgs.services import api_key_revoke
from tests.factories import make_key

URL = "/api/v1/campaigns/"


def get_with(header: str | None):
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    return client.get(URL)


def test_a_valid_key_authenticates(org):
    response = get_with(f"Bearer {make_key(org)}")
    assert response.status_code == 200


def test_the_keyword_is_case_insensitive(org):
    assert get_with(f"bearer {make_key(org)}").status_code == 200


def test_missing_header_is_401_with_a_challenge(db):
    response = get_with(None)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer   ",
        "Token {key}",
        "Basic dXNlcjpwYXNz",
        "{key}",
    ],
)
def test_malformed_header_is_401(org, header):
    response = get_with(header.format(key=make_key(org)))
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]


@pytest.mark.parametrize(
    "raw",
    [
        "ob_deadbeef_not-a-real-secret",
        "not-even-the-right-shape",
        "ob__secret",
    ],
)
def test_unknown_key_is_401(org, raw):
    make_key(org)
    response = get_with(f"Bearer {raw}")
    assert response.status_code == 401
    assert response.json()["detail"] == "Unknown or revoked API key."


def test_right_prefix_wrong_secret_is_401(org):
    raw = make_key(org)
    response = get_with(f"Bearer {raw[:-4]}XXXX")
    assert response.status_code == 401


def test_revoked_key_is_401(org):
    raw = make_key(org)
    assert get_with(f"Bearer {raw}").status_code == 200
    api_key_revoke(key=ApiKey.objects.get(organization=org))
    assert get_with(f"Bearer {raw}").status_code == 401


def test_key_of_an_inactive_org_is_401(org):
    raw = make_key(org)
    Organization.objects.filter(pk=org.pk).update(is_active=False)
    assert get_with(f"Bearer {raw}").status_code == 401


def test_only_the_hash_is_stored_and_use_is_recorded(org):
    raw = make_key(org)
    key = ApiKey.objects.get(organization=org)
    assert raw not in (key.hashed_key, key.prefix)
    assert key.last_used_at is None
    get_with(f"Bearer {raw}")
    key.refresh_from_db()
    assert key.last_used_at is not None
