"""The WSGI door production serves: the carrier's signed form POSTs are answered before
Django's request handling, with the same answers and the same inbox rows as the views."""

from urllib.parse import urlencode

import pytest
from django.core import signals
from django.db import close_old_connections
from django.http import QueryDict
from django.test import RequestFactory
from twilio.request_validator import RequestValidator

from config.wsgi import application
from messaging.models import WebhookEvent
from tests.messaging.conftest import BASE, TOKEN

STATUS = "/webhooks/twilio/sms/status/"
pytestmark = pytest.mark.usefixtures("carrier_settings")


def sms_status(sid: str = "SM1", status: str = "delivered", **extra) -> dict:
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": "AC" + "0" * 32,
        "From": "+12125550100",
        "To": "+12125550199",
        **extra,
    }


def call(path: str, params, *, signature: str | None = None, query: str = "", **environ):
    """POST through the WSGI application; returns (status line, headers, body)."""
    url = f"{BASE}{path}{'?' + query if query else ''}"
    body = urlencode(params, doseq=True)
    if signature is None:
        signature = RequestValidator(TOKEN).compute_signature(url, QueryDict(body))
    request = RequestFactory().generic(
        environ.pop("method", "POST"),
        f"{path}{'?' + query if query else ''}",
        body,
        content_type=environ.pop("content_type", "application/x-www-form-urlencoded"),
        HTTP_X_TWILIO_SIGNATURE=signature,
        **environ,
    )
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = status, dict(headers)

    # As Django's test client does: the test's transaction keeps its connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        chunks = application(request.environ, start_response)
        body = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    return answer["status"], answer["headers"], body


@pytest.mark.django_db
def test_a_signed_report_is_stored_once_and_answered_204():
    assert call(STATUS, sms_status())[0] == "204 No Content"
    assert call(STATUS, sms_status())[0] == "204 No Content"  # the carrier's retry
    event = WebhookEvent.objects.get()
    assert (event.kind, event.sid, event.payload["MessageStatus"]) == (
        WebhookEvent.Kind.SMS_STATUS,
        "SM1",
        "delivered",
    )


@pytest.mark.django_db
@pytest.mark.parametrize("signature", ["", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="])
def test_a_bad_signature_is_403_and_nothing_is_stored(signature):
    status, _, body = call(STATUS, sms_status(), signature=signature)
    assert status == "403 Forbidden" and b"X-Twilio-Signature" in body
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_a_parameter_changed_after_signing_is_403():
    signature = RequestValidator(TOKEN).compute_signature(BASE + STATUS, sms_status())
    status, _, _ = call(STATUS, sms_status(status="failed"), signature=signature)
    assert status == "403 Forbidden"
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_a_report_without_its_sid_is_400():
    params = {k: v for k, v in sms_status().items() if k not in ("MessageSid", "SmsSid")}
    status, _, body = call(STATUS, params)
    assert status == "400 Bad Request" and b"identifiers" in body
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_the_signed_url_keeps_its_query_and_repeated_keys_count():
    params = {**sms_status(), "Extra": ["b", "a"]}
    assert call(STATUS, params, query="org=7")[0] == "204 No Content"
    assert call(STATUS, params, query="org=8", signature="")[0] == "403 Forbidden"
    assert WebhookEvent.objects.count() == 1


@pytest.mark.django_db
def test_an_inbound_text_is_answered_with_empty_twiml():
    params = {"MessageSid": "SMin", "From": "+12125550199", "To": "+12125550100", "Body": "hi"}
    status, headers, body = call("/webhooks/twilio/sms/inbound/", params)
    assert (status, headers["Content-Type"], body) == ("200 OK", "text/xml", b"<Response/>")
    assert WebhookEvent.objects.get().kind == WebhookEvent.Kind.SMS_INBOUND


@pytest.mark.django_db
def test_an_unknown_host_is_400_and_nothing_is_stored():
    status, _, _ = call(STATUS, sms_status(), HTTP_HOST="evil.example.test")
    assert status.startswith("400")
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_what_the_door_does_not_take_goes_to_django():
    assert call(STATUS, sms_status(), method="GET")[0].startswith("405")
    status, _, _ = call(STATUS, sms_status(), content_type="application/json")
    assert status == "403 Forbidden"  # Django's view: a JSON body has no signed form fields
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_request_mode_signs_the_url_django_sees(settings):
    settings.WEBHOOK_URL_MODE = "request"
    params = sms_status()
    signature = RequestValidator(TOKEN).compute_signature(f"http://testserver{STATUS}", params)
    assert call(STATUS, params, signature=signature)[0] == "204 No Content"
    assert WebhookEvent.objects.count() == 1
