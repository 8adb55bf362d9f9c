"""create_org and create_api_key, as an operator runs them."""

import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from orgs.models import ALL_SCOPES, ApiKey, Organization


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_org(db):
    output = run(
        "create_org",
        "--name",
        "Initech",
        "--slug",
        "initech",
        "--concurrency-limit",
        "25",
        "--region",
        "gb",
        "--timezone",
        "Europe/London",
    )
    org = Organization.objects.get(slug="initech")
    assert (org.name, org.concurrency_limit, org.default_region, org.default_timezone) == (
        "Initech",
        25,
        "GB",
        "Europe/London",
    )
    assert org.is_active
    assert f"Created organization initech (id {org.pk})" in output


def test_create_org_with_a_taken_slug_is_a_clear_error(org):
    with pytest.raises(CommandError, match="slug: .*already exists"):
        run("create_org", "--name", "Another Acme", "--slug", org.slug)
    assert Organization.objects.filter(slug=org.slug).count() == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--concurrency-limit", "0"], "concurrency_limit"),
        (["--concurrency-limit", "10001"], "concurrency_limit"),
        (["--timezone", "Mars/Olympus"], "default_timezone: Not an IANA time zone"),
        (["--region", "xx"], "default_region: Not a known region code"),
        (["--slug", "not a slug"], "slug"),
    ],
)
def test_create_org_rejects_bad_settings(db, args, message):
    base = {"--name": "Initech", "--slug": "initech"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    with pytest.raises(CommandError, match=message):
        run("create_org", *[part for pair in base.items() for part in pair])
    assert not Organization.objects.exists()


def test_create_api_key_prints_a_working_key_alone_on_the_last_line(org):
    output = run("create_api_key", "--org", org.slug, "--name", "ci", "--scopes", "campaigns:read")
    raw = output.strip().splitlines()[-1]
    assert raw.startswith("ob_") and " " not in raw
    key = ApiKey.objects.get(organization=org)
    assert (key.name, key.scopes) == ("ci", ["campaigns:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/campaigns/").status_code == 200
    assert client.post("/api/v1/campaigns/", {"name": "x"}).status_code == 403


def test_create_api_key_with_several_scopes(org):
    run(
        "create_api_key",
        "--org",
        org.slug,
        "--name",
        "ops",
        "--scopes",
        " dids:manage, campaigns:read ,dids:manage",
    )
    assert ApiKey.objects.get().scopes == ["campaigns:read", "dids:manage"]


@pytest.mark.parametrize(
    "scope", ["messages:read", "messages:manage", "billing:read", "billing:manage"]
)
def test_create_api_key_accepts_the_sms_scopes(org, scope):
    run("create_api_key", "--org", org.slug, "--name", "sms", "--scopes", scope)
    assert ApiKey.objects.get().scopes == [scope]


def test_create_api_key_with_all_scopes(org):
    raw = run("create_api_key", "--org", org.slug, "--name", "all", "--scopes", "all")
    assert sorted(ApiKey.objects.get().scopes) == sorted(ALL_SCOPES)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw.strip().splitlines()[-1]}")
    assert client.get("/api/v1/dids/").status_code == 200
    assert client.get("/api/v1/suppressions/").status_code == 200


@pytest.mark.parametrize(
    "scopes, message",
    [
        ("campaigns:read,campaigns:write", "Unknown scope\\(s\\): campaigns:write"),
        ("everything", "Unknown scope\\(s\\): everything"),
        (" , ", "At least one scope"),
    ],
)
def test_create_api_key_rejects_bad_scopes(org, scopes, message):
    with pytest.raises(CommandError, match=message):
        run("create_api_key", "--org", org.slug, "--name", "x", "--scopes", scopes)
    assert not ApiKey.objects.exists()


def test_create_api_key_for_an_unknown_org(db):
    with pytest.raises(CommandError, match="No organization with slug 'nope'"):
        run("create_api_key", "--org", "nope", "--name", "x", "--scopes", "all")
