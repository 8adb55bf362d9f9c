"""End-to-end fixtures: the live web tier, the carrier simulator and Celery workers as real
processes, all on this session's test database and Redis."""

from collections.abc import Iterator

import pytest
import requests

from config.celery import app as celery_app
from config.redis import get_redis
from tests.e2e.processes import Process, service_env, start_simulator, start_worker

ACCOUNT = "AC" + "e2" * 16
TOKEN = "e2e-carrier-token"


def _purge_broker() -> None:
    """Drop tasks other tests left in the broker and the inbox's debounce key."""
    celery_app.control.purge()
    get_redis().delete("outbound:inbox:apply-scheduled")


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("e2e-logs")


@pytest.fixture(scope="module")
def simulator(django_db_setup, log_dir) -> Iterator[tuple[Process, str]]:
    process, base_url = start_simulator(log_dir, account=ACCOUNT, token=TOKEN)
    yield process, base_url
    process.stop()


@pytest.fixture
def carrier(simulator, live_server, settings):
    """Settings of this process (and of the live server thread) pointing at the simulator."""
    _, base_url = simulator
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = ACCOUNT, TOKEN
    settings.TWILIO_API_BASE_URL = base_url
    settings.PUBLIC_BASE_URL = live_server.url
    settings.WEBHOOK_URL_MODE = "public"
    from messaging.providers import get_provider

    get_provider.cache_clear()
    requests.post(f"{base_url}/_sim/reset", timeout=5).raise_for_status()
    yield base_url
    get_provider.cache_clear()


@pytest.fixture(scope="module")
def webhook_worker(simulator, live_server, log_dir) -> Iterator[Process]:
    """One Celery worker on the webhooks queue, configured like the web tier."""
    _, base_url = simulator
    _purge_broker()
    env = service_env(
        TWILIO_ACCOUNT_SID=ACCOUNT,
        TWILIO_AUTH_TOKEN=TOKEN,
        TWILIO_API_BASE_URL=base_url,
        PUBLIC_BASE_URL=live_server.url,
        INBOX_UNKNOWN_SID_GRACE_SECONDS="1",
    )
    worker = start_worker(log_dir, "webhooks-worker", queues="webhooks,default", env=env)
    yield worker
    worker.stop()
