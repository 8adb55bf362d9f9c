"""Alerts with a real Celery worker on the `default` queue: enqueued when the transaction
commits, retried after a failure with its countdown, delivered signed to a real receiver."""

import pytest
from django.db import transaction

from config.launcher import service_env, start_worker
from orgs.alerts import alert_emit, alert_signature
from orgs.models import AlertDelivery
from tests.e2e.conftest import _purge_broker
from tests.factories import OrganizationFactory
from tests.receiver import start_receiver
from tests.waiting import eventually

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def alerts_worker(django_db_setup, log_dir):
    _purge_broker()
    env = service_env(ALERT_RETRY_BASE_SECONDS="0.5", ALERT_RETRY_CAP_SECONDS="1")
    worker = start_worker(log_dir, "alerts-worker", queues="default", env=env)
    yield worker
    worker.stop()


@pytest.fixture
def receiver():
    handle, server = start_receiver()
    yield handle
    server.shutdown()
    server.server_close()


def test_a_worker_delivers_an_alert_and_retries_a_failure(alerts_worker, receiver):
    receiver.answers = [500]
    org = OrganizationFactory(alert_webhook_url=receiver.url)
    with transaction.atomic():
        alert = alert_emit(org=org, event="billing.stopped", data={"messages": 12})
        assert alert is not None

    def delivered():
        return AlertDelivery.objects.filter(pk=alert.pk, status="delivered").first()

    row = eventually(delivered, timeout=30, what="the alert delivered", logs=[alerts_worker])

    assert row.attempts == 2
    first, second = receiver.requests
    assert first.body == second.body
    assert second.headers["X-Outbound-Signature"] == alert_signature(org.alert_secret, second.body)
    assert second.headers["X-Outbound-Delivery"] == str(alert.pk)
