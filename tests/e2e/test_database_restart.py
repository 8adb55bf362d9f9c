"""A PostgreSQL restart ends the connections the web tier keeps for reuse (CONN_MAX_AGE): the
next API request is served on a fresh one, not answered with a 500."""

import pytest
import requests
from django.db import connection

from config.launcher import free_port, service_env, start_web
from orgs.models import ALL_SCOPES
from tests.factories import make_key

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def drop_other_connections() -> int:
    """End every other session on the test database, as a restart of PostgreSQL does."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cur.fetchone()[0]


@pytest.fixture
def web(tmp_path):
    """The web tier with one thread, so both requests reuse the same kept connection."""
    port = free_port()
    process = start_web(tmp_path, port=port, env=service_env(), workers=1, threads=1)
    yield f"http://127.0.0.1:{port}"
    process.stop()


def test_an_api_request_after_the_database_dropped_the_kept_connection(org, web):
    headers = {"Authorization": f"Bearer {make_key(org, ALL_SCOPES)}"}
    url = f"{web}/api/v1/campaigns/"
    assert requests.get(url, headers=headers, timeout=10).status_code == 200
    assert drop_other_connections() >= 1  # the web tier's

    response = requests.get(url, headers=headers, timeout=10)

    assert response.status_code == 200, response.text
    assert response.json()["results"] == []
