"""The web tier's ASGI application (`config.asgi`): webhooks stored on the event loop with
group commits, answered only once stored; everything else reaches Django."""

import asyncio
from urllib.parse import urlencode

import pytest
from django.db import connections
from django.http import QueryDict
from twilio.request_validator import RequestValidator

from config.asgi import application
from messaging.ingress import WebhookIngress
from messaging.models import WebhookEvent
from tests.messaging.conftest import BASE, TOKEN

STATUS = "/webhooks/twilio/sms/status/"
pytestmark = [
    pytest.mark.django_db(transaction=True),  # the door writes on its own connection
    pytest.mark.usefixtures("carrier_settings"),
]


def report(sid: str = "SM1", status: str = "delivered") -> dict:
    return {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32}


async def request(app, path: str, params: dict, *, signature=None, method="POST", cut=0):
    """One HTTP request through the ASGI app; returns (status, body). `cut`: bytes of the body
    that never arrive."""
    body = urlencode(params).encode()
    if signature is None:
        signature = RequestValidator(TOKEN).compute_signature(BASE + path, QueryDict(body))
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": path,
        "root_path": "",
        "query_string": b"",
        "scheme": "http",
        "server": ("hooks.example.test", 80),
        "headers": [
            (b"host", b"hooks.example.test"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", str(len(body)).encode()),
            (b"x-twilio-signature", signature.encode()),
        ],
    }
    incoming = [{"type": "http.request", "body": body[: len(body) - cut], "more_body": False}]
    sent = []

    async def receive():
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def run(*requests):
    async def main():
        try:
            return await asyncio.gather(*requests)
        finally:
            await application.writer.close()

    return asyncio.run(main())


def test_a_signed_report_is_answered_once_stored_and_stored_once():
    assert run(request(application, STATUS, report())) == [(204, b"")]
    assert run(request(application, STATUS, report())) == [(204, b"")]  # the carrier's retry
    event = WebhookEvent.objects.get()
    assert (event.sid, event.payload["MessageStatus"]) == ("SM1", "delivered")


def test_concurrent_reports_are_all_stored_and_a_repeat_among_them_once():
    sids = [f"SM{n}" for n in range(60)]
    answers = run(*(request(application, STATUS, report(sid)) for sid in sids + ["SM7"]))
    assert {status for status, _ in answers} == {204}
    assert sorted(WebhookEvent.objects.values_list("sid", flat=True)) == sorted(sids)


def test_a_bad_signature_is_403_and_nothing_is_stored():
    assert run(request(application, STATUS, report(), signature="bad"))[0][0] == 403
    assert not WebhookEvent.objects.exists()


def test_a_report_without_its_sid_is_400():
    status, body = run(request(application, STATUS, {"MessageStatus": "sent"}))[0]
    assert status == 400 and b"identifiers" in body
    assert not WebhookEvent.objects.exists()


def test_a_body_shorter_than_its_length_is_400():
    assert run(request(application, STATUS, report(), cut=5))[0][0] == 400
    assert not WebhookEvent.objects.exists()


def test_without_the_database_the_carrier_gets_a_500_and_a_later_report_is_stored():
    db = connections["default"].settings_dict
    door = WebhookIngress(application.app)
    port = db["PORT"]
    db["PORT"] = "1"  # nothing listens there
    try:
        assert run(request(door, STATUS, report("SM1")))[0][0] == 500
    finally:
        db["PORT"] = port
    assert not WebhookEvent.objects.exists()
    assert asyncio.run(request(door, STATUS, report("SM2")))[0] == 204  # connects again
    assert list(WebhookEvent.objects.values_list("sid", flat=True)) == ["SM2"]


def test_other_requests_reach_django():
    assert run(request(application, "/l/unknown-code", {}, method="GET"))[0][0] == 404
    assert run(request(application, STATUS, report(), method="GET"))[0][0] == 405


def test_lifespan_starts_and_stops():
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent = []

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message["type"])

    asyncio.run(application({"type": "lifespan"}, receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_a_row_postgresql_refuses_fails_alone():
    refused = {**report("SMbad"), "Body": "nul \x00 byte"}
    answers = run(
        request(application, STATUS, refused),
        *(request(application, STATUS, report(f"SM{n}")) for n in range(5)),
    )
    assert [status for status, _ in answers] == [500, 204, 204, 204, 204, 204]
    assert sorted(WebhookEvent.objects.values_list("sid", flat=True)) == [
        f"SM{n}" for n in range(5)
    ]
