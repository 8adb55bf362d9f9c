"""Alert webhooks: what is stored, what the receiver gets, retries, the sweep, concurrency."""

import json
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from orgs.alerts import (
    CLAIM_SECONDS,
    alert_body,
    alert_deliver,
    alert_emit,
    alert_secret_rotate,
    alert_signature,
    alerts_sweep,
)
from orgs.models import AlertDelivery
from orgs.tasks import deliver_alert
from tests.waiting import eventually, in_thread

DATA = {"campaign_id": 7, "campaign_name": "Spring", "reason": "no_dids"}


def emit(org, event="campaign.paused.no_dids", data=DATA) -> AlertDelivery:
    alert = alert_emit(org=org, event=event, data=data)
    assert alert is not None
    return alert


def later(alert: AlertDelivery) -> datetime:
    """A moment when the alert's next attempt is due."""
    alert.refresh_from_db()
    return alert.next_attempt_at + timedelta(milliseconds=1)


def assert_signed(request, org):
    assert request.headers["X-Outbound-Signature"] == alert_signature(
        org.alert_secret, request.body
    )


# --- Emitting ----------------------------------------------------------------------------------


def test_no_url_stores_nothing(org, other_org):
    assert alert_emit(org=org, event="billing.stopped", data={"messages": 3}) is None
    assert not AlertDelivery.objects.exists()


def test_an_alert_stores_the_exact_object_it_posts(hooked, other_org):
    alert = emit(hooked)

    stored = AlertDelivery.objects.get()
    assert stored.pk == alert.pk
    assert stored.organization_id == hooked.pk
    assert stored.status == "pending" and stored.attempts == 0
    assert stored.url == hooked.alert_webhook_url
    assert stored.payload == {
        "id": alert.pk,
        "event": "campaign.paused.no_dids",
        "organization": hooked.pk,
        "created_at": stored.created_at.isoformat(),
        "data": DATA,
    }
    assert datetime.fromisoformat(stored.payload["created_at"]) == stored.created_at
    assert not other_org.alerts.exists()


def test_data_is_stored_as_the_json_the_receiver_gets(hooked):
    at = datetime(2026, 11, 18, 18, 0, 5, tzinfo=UTC)
    alert = emit(hooked, data={"at": at, "rate": Decimal("0.25"), "count": 3})
    alert.refresh_from_db()
    assert alert.payload["data"] == {"at": "2026-11-18T18:00:05Z", "rate": "0.25", "count": 3}


def test_delivery_is_enqueued_on_the_default_queue_after_commit(
    hooked, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        alert = emit(hooked)
        assert broker.tasks() == []  # not before the transaction commits

    assert broker.tasks() == [("orgs.alerts.deliver", {"alert_id": alert.pk}, None)]


def test_a_rolled_back_alert_is_neither_stored_nor_enqueued(
    hooked, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            emit(hooked)
            raise RuntimeError("the caller's transaction fails")
    assert callbacks == []
    assert not AlertDelivery.objects.exists()
    assert broker.tasks() == []


# --- Delivering ----------------------------------------------------------------------------


def test_the_receiver_gets_the_signed_body(hooked, receiver):
    alert = emit(hooked)

    assert alert_deliver(alert_id=alert.pk) == {"delivered": 1}

    (request,) = receiver.requests
    assert request.path == "/hooks/outbound"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Outbound-Event"] == "campaign.paused.no_dids"
    assert request.headers["X-Outbound-Delivery"] == str(alert.pk)
    assert_signed(request, hooked)
    assert request.body == alert_body(alert.payload)
    assert json.loads(request.body) == alert.payload
    assert b" " not in request.body  # compact
    alert.refresh_from_db()
    assert alert.status == "delivered" and alert.delivered_at is not None
    assert (alert.attempts, alert.next_attempt_at, alert.last_error) == (1, None, "")


def test_a_signature_with_another_secret_does_not_verify(hooked, receiver):
    alert_deliver(alert_id=emit(hooked).pk)
    (request,) = receiver.requests
    assert request.headers["X-Outbound-Signature"] != alert_signature("x" * 64, request.body)
    tampered = request.body.replace(b"Spring", b"Autumn")
    assert request.headers["X-Outbound-Signature"] != alert_signature(hooked.alert_secret, tampered)


def test_a_500_is_retried_later_with_the_same_body(hooked, receiver, settings):
    settings.ALERT_RETRY_BASE_SECONDS = 10
    receiver.answers = [500]
    alert = emit(hooked)
    before = timezone.now()

    assert alert_deliver(alert_id=alert.pk) == {"retrying": 1}

    alert.refresh_from_db()
    assert (alert.status, alert.attempts, alert.last_error) == ("pending", 1, "HTTP 500: ok")
    assert before <= alert.next_attempt_at <= timezone.now() + timedelta(seconds=10)
    assert alert_deliver(alert_id=alert.pk, now=before) == {"skipped": 1}  # not due yet
    assert len(receiver.requests) == 1

    assert alert_deliver(alert_id=alert.pk, now=later(alert)) == {"delivered": 1}

    first, second = receiver.requests
    assert first.body == second.body
    assert first.headers["X-Outbound-Signature"] == second.headers["X-Outbound-Signature"]
    assert_signed(second, hooked)
    alert.refresh_from_db()
    assert (alert.status, alert.attempts, alert.last_error) == ("delivered", 2, "")


def test_a_retry_is_enqueued_with_its_countdown(
    hooked, receiver, broker, django_capture_on_commit_callbacks
):
    receiver.answers = [503]
    alert = emit(hooked)
    with django_capture_on_commit_callbacks(execute=True):
        alert_deliver(alert_id=alert.pk)

    ((name, kwargs, eta),) = broker.tasks()
    assert (name, kwargs) == ("orgs.alerts.deliver", {"alert_id": alert.pk})
    alert.refresh_from_db()
    assert abs(datetime.fromisoformat(eta) - alert.next_attempt_at) < timedelta(seconds=1)


def test_a_retry_after_is_honoured_within_the_cap(hooked, receiver, settings):
    settings.ALERT_RETRY_BASE_SECONDS, settings.ALERT_RETRY_CAP_SECONDS = 1, 120
    receiver.answers, receiver.headers = [429], {"Retry-After": "90"}
    alert = emit(hooked)
    before = timezone.now()
    alert_deliver(alert_id=alert.pk)
    alert.refresh_from_db()
    assert alert.next_attempt_at >= before + timedelta(seconds=90)
    assert alert.last_error.startswith("HTTP 429")


def test_a_client_error_is_retried_too(hooked, receiver):
    receiver.answers = [404]
    alert = emit(hooked)
    assert alert_deliver(alert_id=alert.pk) == {"retrying": 1}
    assert alert_deliver(alert_id=alert.pk, now=later(alert)) == {"delivered": 1}


def test_a_redirect_is_not_followed(hooked, receiver):
    receiver.answers, receiver.headers = [302], {"Location": "http://127.0.0.1:9/elsewhere"}
    alert = emit(hooked)
    assert alert_deliver(alert_id=alert.pk) == {"retrying": 1}
    assert len(receiver.requests) == 1
    alert.refresh_from_db()
    assert alert.last_error.startswith("HTTP 302")


def test_a_receiver_that_does_not_answer_in_time_is_retried(hooked, receiver, settings):
    settings.ALERT_TIMEOUT_SECONDS = 0.2
    receiver.delay = 2
    alert = emit(hooked)

    assert alert_deliver(alert_id=alert.pk) == {"retrying": 1}

    alert.refresh_from_db()
    assert (alert.status, alert.attempts) == ("pending", 1)
    assert alert.last_error.startswith("No answer within 0.2 s")


def test_nothing_listening_is_retried(hooked, other_org):
    hooked.alert_webhook_url = "http://127.0.0.1:9/nobody"  # the discard port: refused
    hooked.save()
    alert = emit(hooked)
    assert alert_deliver(alert_id=alert.pk) == {"retrying": 1}
    alert.refresh_from_db()
    assert alert.last_error.startswith("ConnectionError")


def test_after_the_last_attempt_the_alert_fails(hooked, receiver, settings):
    settings.ALERT_MAX_ATTEMPTS = 3
    receiver.answers = [500, 502, 500, 200]
    alert = emit(hooked)

    far = timezone.now() + timedelta(hours=2)  # every retry is due by then
    outcomes = [alert_deliver(alert_id=alert.pk, now=far) for _ in range(4)]

    assert outcomes == [{"retrying": 1}, {"retrying": 1}, {"failed": 1}, {"skipped": 1}]
    assert len(receiver.requests) == 3
    alert.refresh_from_db()
    assert (alert.status, alert.attempts, alert.next_attempt_at) == ("failed", 3, None)
    assert alert.last_error == "HTTP 500: ok"


def test_backoff_grows_with_full_jitter_up_to_the_cap(settings, monkeypatch):
    from orgs import alerts

    settings.ALERT_RETRY_BASE_SECONDS, settings.ALERT_RETRY_CAP_SECONDS = 10, 3600
    monkeypatch.setattr(alerts.random, "uniform", lambda low, high: (low, high))
    assert [alerts.retry_delay(n) for n in (1, 2, 3, 9, 30)] == [
        (0, 10),
        (0, 20),
        (0, 40),
        (0, 2560),
        (0, 3600),
    ]


def test_a_delivered_alert_is_not_posted_again(hooked, receiver):
    alert = emit(hooked)
    alert_deliver(alert_id=alert.pk)
    assert alert_deliver(alert_id=alert.pk, now=timezone.now() + timedelta(hours=1)) == {
        "skipped": 1
    }
    assert alert_deliver(alert_id=10**9) == {"skipped": 1}
    assert len(receiver.requests) == 1


def test_attempts_go_to_the_url_and_secret_of_the_moment(hooked, receiver):
    receiver.answers = [500]
    alert = emit(hooked)
    alert_deliver(alert_id=alert.pk)
    secret = alert_secret_rotate(org=hooked)
    hooked.alert_webhook_url = receiver.url + "/v2"
    hooked.save()

    alert_deliver(alert_id=alert.pk, now=later(alert))

    first, second = receiver.requests
    assert second.path == "/hooks/outbound/v2" and second.body == first.body
    assert second.headers["X-Outbound-Signature"] == alert_signature(secret, second.body)
    alert.refresh_from_db()
    assert alert.url == hooked.alert_webhook_url


def test_clearing_the_url_fails_pending_alerts(hooked, receiver):
    alert = emit(hooked)
    hooked.alert_webhook_url = ""
    hooked.save()
    assert alert_deliver(alert_id=alert.pk) == {"failed": 1}
    assert receiver.requests == []
    alert.refresh_from_db()
    assert alert.status == "failed" and "no alert webhook URL" in alert.last_error


def test_the_task_delivers(hooked, receiver):
    alert = emit(hooked)
    assert deliver_alert.apply(kwargs={"alert_id": alert.pk}).get() == {"delivered": 1}
    assert len(receiver.requests) == 1


# --- The sweep -----------------------------------------------------------------------------


def test_the_sweep_enqueues_a_due_pending_alert_whose_task_was_lost(
    hooked, receiver, broker, django_capture_on_commit_callbacks
):
    due = emit(hooked)  # its on-commit enqueue never ran: the task is lost
    not_yet = emit(hooked)
    AlertDelivery.objects.filter(pk=not_yet.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert alerts_sweep() == {"enqueued": 1, "gave_up": 0}

    ((name, kwargs, _),) = broker.tasks()
    assert (name, kwargs) == ("orgs.alerts.deliver", {"alert_id": due.pk})
    assert deliver_alert.apply(kwargs=kwargs).get() == {"delivered": 1}
    assert [r.headers["X-Outbound-Delivery"] for r in receiver.requests] == [str(due.pk)]


def test_the_sweep_leaves_an_alert_being_delivered_alone(hooked, receiver):
    receiver.answers = [500]
    alert = emit(hooked)
    claimed_at = timezone.now()
    AlertDelivery.objects.filter(pk=alert.pk).update(
        attempts=1, next_attempt_at=claimed_at + timedelta(seconds=CLAIM_SECONDS)
    )
    assert alerts_sweep(now=claimed_at + timedelta(seconds=30)) == {"enqueued": 0, "gave_up": 0}


def test_the_sweep_fails_an_alert_whose_last_attempt_never_answered(hooked, settings):
    settings.ALERT_MAX_ATTEMPTS = 2
    alert = emit(hooked)
    claimed_at = timezone.now()  # the last attempt's worker died mid-POST
    AlertDelivery.objects.filter(pk=alert.pk).update(
        attempts=2, next_attempt_at=claimed_at + timedelta(seconds=CLAIM_SECONDS)
    )
    after_claim = claimed_at + timedelta(seconds=CLAIM_SECONDS + 1)

    assert alerts_sweep(now=after_claim) == {"enqueued": 0, "gave_up": 1}

    alert.refresh_from_db()
    assert alert.status == "failed" and "recorded no answer" in alert.last_error


# --- Concurrency ---------------------------------------------------------------------------


@pytest.fixture
def committed(hooked, broker):
    """An alert committed for real (threads see it); its enqueued task is dropped."""
    alert = emit(hooked)
    broker.client.delete("default")
    return alert


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_deliveries_post_once(committed, receiver):
    receiver.delay = 0.3  # the first POST is still waiting when the second claim runs
    barrier, outcome = threading.Barrier(2), {}

    threads = [
        in_thread(lambda: alert_deliver(alert_id=committed.pk), outcome, str(n), barrier)
        for n in range(2)
    ]
    for thread in threads:
        thread.join(20)

    assert sorted(outcome.values(), key=str) == [{"delivered": 1}, {"skipped": 1}], outcome
    assert len(receiver.requests) == 1
    committed.refresh_from_db()
    assert (committed.status, committed.attempts) == ("delivered", 1)


@pytest.mark.django_db(transaction=True)
def test_no_row_lock_is_held_while_the_receiver_answers(committed, receiver):
    receiver.hold = threading.Event()
    outcome: dict = {}
    thread = in_thread(lambda: alert_deliver(alert_id=committed.pk), outcome, "deliver")
    try:
        assert receiver.arrived.wait(10)
        with transaction.atomic():  # NOWAIT: raises if the delivery held the row
            AlertDelivery.objects.select_for_update(nowait=True).get(pk=committed.pk)
        assert alert_deliver(alert_id=committed.pk) == {"skipped": 1}  # claimed meanwhile
    finally:
        receiver.hold.set()
        thread.join(20)
    assert outcome["deliver"] == {"delivered": 1}
    eventually(lambda: len(receiver.requests) == 1)
