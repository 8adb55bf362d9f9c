"""Wiring a deployer notices: /health/, the OpenAPI schema and docs, fail-fast settings."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

BASE_DIR = Path(__file__).resolve().parent.parent
DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def test_health_is_ok_when_everything_is_up(db):
    response = Client().get("/health/")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": {"ok": True}, "redis": {"ok": True}, "broker": {"ok": True}},
    }


def test_health_is_503_naming_what_is_down(db, settings):
    settings.REDIS_URL = DOWN
    settings.CELERY_BROKER_URL = DOWN
    response = Client().get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["down"] == ["redis", "broker"]
    assert body["checks"]["database"] == {"ok": True}
    for name in ("redis", "broker"):
        assert body["checks"][name]["ok"] is False
        assert body["checks"][name]["error"]


def test_health_names_only_the_broker_when_only_it_is_down(db, settings):
    settings.CELERY_BROKER_URL = DOWN
    response = Client().get("/health/")
    assert response.status_code == 503
    assert response.json()["down"] == ["broker"]


def test_health_needs_no_api_key(db):
    assert Client().get("/health/").status_code == 200


def test_schema_documents_the_api(db):
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for path in (
        "/api/v1/campaigns/",
        "/api/v1/campaigns/{id}/",
        "/api/v1/campaigns/{id}/prospects/import/",
        "/api/v1/prospects/",
        "/api/v1/prospects/{id}/",
        "/api/v1/dids/",
        "/api/v1/dids/{id}/",
        "/api/v1/dids/{id}/release/",
        "/api/v1/dids/health/",
        "/api/v1/dids/health/report/",
        "/api/v1/suppressions/",
        "/api/v1/suppressions/{id}/",
        "/api/v1/suppressions/import/",
        "/api/v1/campaign/concurrency-settings",
        "/api/v1/calls/",
        "/api/v1/calls/{id}/",
        "/api/v1/sender-pools/",
        "/api/v1/sender-pools/{id}/",
        "/api/v1/messages/",
        "/api/v1/messages/{id}/",
        "/api/v1/dead-letters/",
        "/api/v1/dead-letters/summary/",
        "/api/v1/dead-letters/retry/",
        "/api/v1/credits/",
        "/api/v1/blocked-words/",
        "/api/v1/alerts/",
        "/api/v1/alerts/{id}/",
        "/api/v1/alerts/settings/",
        "/api/v1/alerts/settings/rotate-secret/",
    ):
        assert path in paths, path
    assert not any(p.startswith("/api/v1/campaign/concurrency-settings/") for p in paths)
    assert not {"/api/v1/alerts/settings", "/api/v1/alerts/settings/rotate-secret"} & set(paths)
    assert not {"/api/v1/credits", "/api/v1/blocked-words"} & set(paths)
    operation_ids = {op["operationId"] for item in paths.values() for op in item.values()}
    assert {
        "campaigns_prospects_import",
        "suppressions_import",
        "calls_create",
        "alerts_settings_rotate_secret",
        "dead_letters_summary",
        "dead_letters_retry",
    } <= operation_ids
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"


def test_schema_builds_without_warnings(db):
    # drf-spectacular warns, and guesses, where a view or serializer leaves it in doubt.
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=StringIO())


def test_docs_page_is_served(db):
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def manage_check(*args: str, **overrides) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *(args or ("check",))],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.skipif((BASE_DIR / ".env").exists(), reason="a .env file may supply SECRET_KEY")
def test_start_up_without_secret_key_fails_naming_it():
    result = manage_check()
    assert result.returncode != 0
    assert "The environment variable SECRET_KEY is required but not set" in result.stderr


def test_models_and_migrations_agree_and_the_check_needs_no_secret_key():
    result = manage_check("makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout


def test_debug_allows_a_missing_secret_key():
    result = manage_check(DEBUG="true")
    assert result.returncode == 0, result.stderr
