import base64
import json

import pytest
import redis
from django.conf import settings

from tests.receiver import start_receiver


@pytest.fixture
def receiver():
    """A local webhook receiver (see tests.receiver)."""
    handle, server = start_receiver()
    yield handle
    if handle.hold is not None:
        handle.hold.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def hooked(org, other_org, receiver):
    """`org` (and the other org) send their alerts to the receiver."""
    for o in (org, other_org):
        o.alert_webhook_url = receiver.url
        o.save(update_fields=["alert_webhook_url"])
    return org


class Broker:
    """The real broker's `default` queue, emptied before and after the test."""

    def __init__(self):
        self.client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        self.client.delete("default")

    def tasks(self) -> list[tuple[str, dict, str | None]]:
        """(task name, kwargs, eta) of each message waiting in the queue, oldest first."""
        out = []
        for raw in reversed(self.client.lrange("default", 0, -1)):
            message = json.loads(raw)
            _, kwargs, _ = json.loads(base64.b64decode(message["body"]))
            out.append((message["headers"]["task"], kwargs, message["headers"].get("eta")))
        return out


@pytest.fixture
def broker():
    handle = Broker()
    yield handle
    handle.client.delete("default")
