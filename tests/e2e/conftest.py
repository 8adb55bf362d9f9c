"""End-to-end fixtures: the live web tier, the carrier simulator and Celery workers as real
processes, all on this session's test database and Redis."""

from collections.abc import Iterator
from datetime import datetime

import pytest
import requests

from config.celery import app as celery_app
from config.launcher import (
    Process,
    free_port,
    service_env,
    start_simulator,
    start_web,
    start_worker,
)
from config.redis import get_redis
from prospects import windows

ACCOUNT = "AC" + "e2" * 16
TOKEN = "e2e-carrier-token"
# The live server answers each callback in a thread of its own with a database connection of
# its own: a bounded number in flight keeps a busy carrier within the server's connections.
CALLBACKS_IN_FLIGHT = 16
# Number blocks in several parts of the world: a test calls or texts the one whose local time
# is inside the federal window now, so it runs whatever the hour.
BLOCKS = ("+1212555{:04d}", "+1415555{:04d}", "+1808555{:04d}", "+4420794{:05d}", "+6129876{:04d}")


def callable_block(now: datetime, *, channel: str = "voice") -> str:
    """A block of BLOCKS inside the federal window for `channel` now and since the hour began."""
    for block in BLOCKS:
        number = block.format(1)
        if all(
            windows.check(number, at, channel=channel, policy="federal").allowed
            for at in (now, now.replace(minute=0))
        ):
            return block
    pytest.skip("no number block is inside the calling window right now")


def carrier_env(carrier_url: str, web_url: str, **extra: str) -> dict[str, str]:
    """The environment of a process that talks to the simulator and has it call `web_url`."""
    return service_env(
        TWILIO_ACCOUNT_SID=ACCOUNT,
        TWILIO_AUTH_TOKEN=TOKEN,
        TWILIO_API_BASE_URL=carrier_url,
        PUBLIC_BASE_URL=web_url,
        **extra,
    )


def _purge_broker() -> None:
    """Drop tasks other tests left in the broker and the inbox's debounce key."""
    celery_app.control.purge()
    get_redis().delete("outbound:inbox:apply-scheduled")


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("e2e-logs")


@pytest.fixture(scope="module")
def simulator(django_db_setup, log_dir) -> Iterator[tuple[Process, str]]:
    process, base_url = start_simulator(
        log_dir,
        env=service_env(),
        account=ACCOUNT,
        token=TOKEN,
        callbacks_in_flight=CALLBACKS_IN_FLIGHT,
    )
    yield process, base_url
    process.stop()


@pytest.fixture(scope="module")
def web(simulator, log_dir) -> Iterator[tuple[Process, str]]:
    """The web tier on gunicorn, as production serves it, taking the simulator's callbacks: a
    busy carrier needs more than the live server's one process (the process, its URL)."""
    _, base_url = simulator
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start_web(log_dir, port=port, env=carrier_env(base_url, url))
    yield process, url
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
    env = carrier_env(base_url, live_server.url, INBOX_UNKNOWN_SID_GRACE_SECONDS="1")
    worker = start_worker(log_dir, "webhooks-worker", queues="webhooks,default", env=env)
    yield worker
    worker.stop()
