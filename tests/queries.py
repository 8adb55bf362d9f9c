"""Counting the queries a request runs: list endpoints run a constant number, whatever the page."""

from django.db import connection
from django.test.utils import CaptureQueriesContext


def queries_of_get(client, url: str, params: dict | None = None) -> int:
    """The queries one GET runs (asserting it succeeds)."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return len(ctx)
