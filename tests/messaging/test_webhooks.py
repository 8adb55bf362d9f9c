"""Signed webhooks land in the inbox once; the batch processor applies them in lifecycle order."""

import json
from datetime import timedelta

import pytest
import redis
from django.test import Client
from django.utils import timezone
from twilio.request_validator import RequestValidator

from messaging.models import CarrierCall, CarrierMessage, WebhookEvent
from messaging.services import inbox_apply_batch, inbox_reopen_unknown
from prospects.models import Prospect, Suppression
from tests.factories import DidFactory, ProspectFactory, ProspectPhoneFactory
from tests.messaging.conftest import BASE, TOKEN

pytestmark = pytest.mark.usefixtures("carrier_settings")


def post(path: str, params: dict, *, token: str = TOKEN, signature: str | None = None):
    if signature is None:
        signature = RequestValidator(token).compute_signature(BASE + path, params)
    return Client().post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


def call_status(sid: str, status: str, seq: int, **extra):
    return post(
        "/webhooks/twilio/voice/status/",
        {
            "CallSid": sid,
            "CallStatus": status,
            "SequenceNumber": str(seq),
            "AccountSid": "AC" + "0" * 32,
            "From": "+14155550000",
            "To": "+14155550001",
            "CallbackSource": "call-progress-events",
            **extra,
        },
    )


def test_the_published_signature_vector_validates():
    validator = RequestValidator("12345")
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert validator.compute_signature(url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert validator.validate(url, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")


@pytest.mark.django_db
@pytest.mark.parametrize("signature", ["", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="])
def test_a_bad_signature_is_403_and_nothing_is_stored(signature):
    response = post(
        "/webhooks/twilio/voice/status/",
        {"CallSid": "CA1", "CallStatus": "ringing"},
        signature=signature,
    )
    assert response.status_code == 403
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_a_tampered_parameter_is_403():
    params = {"CallSid": "CA1", "CallStatus": "ringing", "SequenceNumber": "1"}
    signature = RequestValidator(TOKEN).compute_signature(
        BASE + "/webhooks/twilio/voice/status/", params
    )
    tampered = {**params, "CallStatus": "completed"}
    response = Client().post(
        "/webhooks/twilio/voice/status/", tampered, HTTP_X_TWILIO_SIGNATURE=signature
    )
    assert response.status_code == 403
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_a_repeated_delivery_is_stored_once():
    for _ in range(3):
        assert call_status("CA1", "ringing", 1).status_code == 204
    assert WebhookEvent.objects.count() == 1


@pytest.mark.django_db
def test_a_late_ringing_never_overwrites_completed(org):
    CarrierCall.objects.create(organization=org, sid="CA1", to="+1", from_number="+1")
    call_status("CA1", "completed", 3, CallDuration="42", SipResponseCode="200")
    inbox_apply_batch()
    call_status("CA1", "ringing", 1)
    call_status("CA1", "initiated", 0)
    counts = inbox_apply_batch()
    call = CarrierCall.objects.get(sid="CA1")
    assert (call.status, call.duration_seconds, call.sip_response_code) == ("completed", 42, 200)
    assert counts == {"stale": 2}


@pytest.mark.django_db
def test_out_of_order_events_in_one_batch_end_in_the_last_state(org):
    CarrierCall.objects.create(organization=org, sid="CA1", to="+1", from_number="+1")
    call_status("CA1", "in-progress", 2)
    call_status("CA1", "completed", 3, CallDuration="7")
    call_status("CA1", "initiated", 0)
    call_status("CA1", "ringing", 1)
    inbox_apply_batch()
    assert CarrierCall.objects.get(sid="CA1").status == "completed"
    assert not WebhookEvent.objects.filter(processed_at__isnull=True).exists()


@pytest.mark.django_db
def test_an_event_for_an_unknown_sid_waits_for_its_call_then_is_kept_and_counted(org, settings):
    call_status("CA-nobody", "ringing", 1)
    call_status("CA-late", "ringing", 1)
    assert inbox_apply_batch() == {"deferred": 2}  # the calls' rows may still be written
    event = WebhookEvent.objects.get(sid="CA-nobody")
    assert event.processed_at is None and event.apply_after is not None
    assert inbox_apply_batch() == {}  # deferred events are not picked again at once

    CarrierCall.objects.create(organization=org, sid="CA-late", to="+1", from_number="+1")
    later = timezone.now() - timedelta(seconds=settings.INBOX_UNKNOWN_SID_GRACE_SECONDS + 1)
    WebhookEvent.objects.update(apply_after=None, received_at=later)
    assert inbox_apply_batch() == {"unknown_sid": 1, "applied": 1}
    event.refresh_from_db()
    assert event.outcome == "unknown_sid" and event.processed_at is not None
    assert CarrierCall.objects.get(sid="CA-late").status == "ringing"


@pytest.mark.django_db
def test_events_counted_unknown_apply_once_their_call_is_found(org, settings):
    call_status("CA-lost", "completed", 3, CallDuration="42")
    WebhookEvent.objects.update(
        received_at=timezone.now() - timedelta(seconds=settings.INBOX_UNKNOWN_SID_GRACE_SECONDS + 1)
    )
    assert inbox_apply_batch() == {"unknown_sid": 1}

    CarrierCall.objects.create(organization=org, sid="CA-lost", to="+1", from_number="+1")
    assert inbox_reopen_unknown(sid="CA-lost") == 1
    assert inbox_apply_batch() == {"applied": 1}
    call = CarrierCall.objects.get(sid="CA-lost")
    assert (call.status, call.duration_seconds) == ("completed", 42)


@pytest.mark.django_db
def test_amd_verdict_is_recorded_once(org):
    CarrierCall.objects.create(organization=org, sid="CA1", to="+1", from_number="+1")
    post(
        "/webhooks/twilio/voice/amd/",
        {"CallSid": "CA1", "AnsweredBy": "machine_start", "MachineDetectionDuration": "2300"},
    )
    inbox_apply_batch()
    call = CarrierCall.objects.get()
    assert (call.answered_by, call.machine_detection_ms) == ("machine_start", 2300)


def sms_status(sid: str, status: str, **extra):
    return post(
        "/webhooks/twilio/sms/status/",
        {
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            **extra,
        },
    )


@pytest.mark.django_db
def test_delivered_never_goes_back_to_sent(org):
    CarrierMessage.objects.create(organization=org, sid="SM1", to="+1", from_number="+1")
    sms_status("SM1", "delivered")
    inbox_apply_batch()
    sms_status("SM1", "sent")
    inbox_apply_batch()
    assert CarrierMessage.objects.get().status == "delivered"


@pytest.mark.django_db
def test_undelivered_keeps_its_error_code(org):
    CarrierMessage.objects.create(organization=org, sid="SM1", to="+1", from_number="+1")
    sms_status("SM1", "sent")
    sms_status("SM1", "undelivered", ErrorCode="30003")
    inbox_apply_batch()
    message = CarrierMessage.objects.get()
    assert (message.status, message.error_code) == ("undelivered", 30003)


def inbound(body: str, sender="+14155550123", to="+14155559999", sid="SM-in-1"):
    return post(
        "/webhooks/twilio/sms/inbound/",
        {
            "MessageSid": sid,
            "SmsSid": sid,
            "From": sender,
            "To": to,
            "Body": body,
            "SmsStatus": "received",
            "NumMedia": "0",
        },
    )


@pytest.mark.django_db
@pytest.mark.parametrize("word", ["STOP", " stop ", "Unsubscribe", "optout", "QUIT"])
def test_stop_suppresses_the_sender_and_cancels_their_queued_work(org, other_org, campaign, word):
    DidFactory(organization=org, e164="+14155559999")
    queued = ProspectFactory(campaign=campaign)
    ProspectPhoneFactory(prospect=queued, e164="+14155550123")
    response = inbound(word)
    assert response.status_code == 200 and b"<Response/>" in response.content
    inbox_apply_batch()
    entry = Suppression.objects.get(organization=org, e164="+14155550123")
    assert entry.reason == "stop"
    assert Prospect.objects.get(pk=queued.pk).status == "cancelled"
    assert not Suppression.objects.filter(organization=other_org).exists()


@pytest.mark.django_db
def test_start_lifts_a_stop_but_not_a_dnc(org):
    DidFactory(organization=org, e164="+14155559999")
    inbound("STOP", sid="SM1")
    inbox_apply_batch()
    inbound("start", sid="SM2")
    inbox_apply_batch()
    assert not Suppression.objects.filter(e164="+14155550123").exists()
    Suppression.objects.create(organization=org, e164="+14155550123", reason="dnc")
    inbound("YES", sid="SM3")
    inbox_apply_batch()
    assert Suppression.objects.filter(e164="+14155550123", reason="dnc").exists()


@pytest.mark.django_db
def test_other_text_marks_the_prospect_as_replied(org, campaign):
    DidFactory(organization=org, e164="+14155559999")
    prospect = ProspectFactory(campaign=campaign)
    ProspectPhoneFactory(prospect=prospect, e164="+14155550123")
    inbound("Who is this?")
    inbox_apply_batch()
    prospect.refresh_from_db()
    assert prospect.replied_at is not None and prospect.status == "queued"


@pytest.mark.django_db
def test_inbound_to_a_number_we_do_not_own_is_ignored():
    inbound("STOP", to="+19995550000")
    assert inbox_apply_batch() == {"ignored": 1}
    assert not Suppression.objects.exists()


@pytest.fixture
def dialer_queue(settings):
    """The names of the tasks waiting in the real broker's `dialer` queue, emptied first."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("dialer")

    def names() -> list[str]:
        return [json.loads(m)["headers"]["task"] for m in reversed(client.lrange("dialer", 0, -1))]

    yield names
    client.delete("dialer")


@pytest.mark.django_db(transaction=True)
def test_only_a_batch_with_call_events_hands_work_to_the_voice_engine(org, dialer_queue):
    CarrierCall.objects.create(organization=org, sid="CA1", to="+1", from_number="+1")
    CarrierMessage.objects.create(organization=org, sid="SM1", to="+1", from_number="+1")

    sms_status("SM1", "delivered")
    assert inbox_apply_batch() == {"applied": 1}
    assert dialer_queue() == []  # texts only: nothing for the dialer

    call_status("CA1", "completed", 3, CallDuration="12")
    assert inbox_apply_batch() == {"applied": 1}
    assert dialer_queue() == ["campaigns.dialer.drop_voicemails", "campaigns.dialer.settle"]
