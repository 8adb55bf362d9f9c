"""/api/v1/messages/ and /api/v1/dead-letters/ (list, summary, retry)."""

from datetime import UTC, datetime, timedelta

import pytest

from messaging.models import Message
from prospects.models import Prospect
from tests.factories import (
    CampaignFactory,
    MessageFactory,
    MessageVariantFactory,
    ProspectFactory,
    make_dead_letter,
)
from tests.queries import queries_of_get

MESSAGES = "/api/v1/messages/"
DEAD = "/api/v1/dead-letters/"
SUMMARY = "/api/v1/dead-letters/summary/"
RETRY = "/api/v1/dead-letters/retry/"
T0 = datetime(2030, 3, 1, 15, 0, tzinfo=UTC)


def dead(campaign, reason: str, *, at: datetime = T0, **fields) -> Message:
    return make_dead_letter(campaign, reason, updated_at=at, **fields)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def snapshot() -> dict:
    return {
        "messages": list(Message.objects.order_by("id").values()),
        "prospects": list(Prospect.objects.order_by("id").values("id", "status")),
    }


# --- Messages ----------------------------------------------------------------------------------


def test_a_message_shows_what_became_of_it(api, sms):
    variant = MessageVariantFactory(campaign=sms, name="B")
    prospect = ProspectFactory(campaign=sms, status="delivered")
    message = MessageFactory(
        campaign=sms,
        prospect=prospect,
        variant=variant,
        to="+14155550101",
        from_number="+14155550199",
        body="Hi Ann",
        segments=2,
        encoding="UCS-2",
        status="delivered",
        submitted=True,
        delivered=True,
        sid="SM" + "a" * 32,
        carrier_status="delivered",
        send_at=T0,
        created_at=T0,
        submitted_at=T0 + timedelta(seconds=1),
        delivered_at=T0 + timedelta(seconds=5),
    )

    body = api.get(f"{MESSAGES}{message.pk}/").json()

    assert body == {
        "id": message.pk,
        "to": "+14155550101",
        "from_number": "+14155550199",
        "campaign": sms.pk,
        "prospect": prospect.pk,
        "variant": "B",
        "body": "Hi Ann",
        "segments": 2,
        "encoding": "UCS-2",
        "status": "delivered",
        "submitted": True,
        "delivered": True,
        "sid": "SM" + "a" * 32,
        "carrier_status": "delivered",
        "error_code": None,
        "failure_reason": "",
        "failure_detail": "",
        "send_at": "2030-03-01T15:00:00Z",
        "created_at": "2030-03-01T15:00:00Z",
        "submitted_at": "2030-03-01T15:00:01Z",
        "delivered_at": "2030-03-01T15:00:05Z",
    }


def test_submitted_and_delivered_are_tri_state(api, sms):
    unknown = MessageFactory(campaign=sms)
    refused = MessageFactory(campaign=sms, status="failed", submitted=False, delivered=False)
    rows = {row["id"]: row for row in api.get(MESSAGES).json()["results"]}
    assert (rows[unknown.pk]["submitted"], rows[unknown.pk]["delivered"]) == (None, None)
    assert (rows[refused.pk]["submitted"], rows[refused.pk]["delivered"]) == (False, False)
    assert rows[unknown.pk]["variant"] is None


def test_messages_are_newest_first_and_filter(api, org, sms):
    other = CampaignFactory(organization=org, channel="sms")
    old = MessageFactory(campaign=sms, to="+14155550101", created_at=T0 - timedelta(days=1))
    sent = MessageFactory(campaign=sms, to="+14155550102", status="sent", created_at=T0)
    failed = dead(other, "STALE", created_at=T0 + timedelta(hours=1))

    assert ids(api.get(MESSAGES)) == [failed.pk, sent.pk, old.pk]
    assert ids(api.get(MESSAGES, {"campaign": sms.pk})) == [sent.pk, old.pk]
    assert ids(api.get(MESSAGES, {"status": "sent"})) == [sent.pk]
    assert ids(api.get(MESSAGES, {"status__in": "sent,failed"})) == [failed.pk, sent.pk]
    assert ids(api.get(MESSAGES, {"failure_reason": "STALE"})) == [failed.pk]
    assert ids(api.get(MESSAGES, {"to": "+14155550101"})) == [old.pk]
    window = {
        "created_after": T0.isoformat(),
        "created_before": (T0 + timedelta(hours=1)).isoformat(),
    }
    assert ids(api.get(MESSAGES, window)) == [sent.pk]


def test_messages_are_cursor_paginated(api, sms):
    made = [MessageFactory(campaign=sms, created_at=T0 + timedelta(minutes=i)) for i in range(5)]
    first = api.get(MESSAGES, {"page_size": 3}).json()
    second = api.get(first["next"])
    assert [r["id"] for r in first["results"]] == [m.pk for m in made[::-1][:3]]
    assert [r["id"] for r in second.json()["results"]] == [m.pk for m in made[1::-1]]
    assert "count" not in first


def test_messages_are_read_only(api, sms):
    message = MessageFactory(campaign=sms)
    before = snapshot()
    assert api.post(MESSAGES, {"to": "+14155550101", "body": "x"}).status_code == 405
    assert api.patch(f"{MESSAGES}{message.pk}/", {"body": "x"}).status_code == 405
    assert api.delete(f"{MESSAGES}{message.pk}/").status_code == 405
    assert snapshot() == before


def test_filtering_by_another_orgs_campaign_is_400(api, other_sms):
    for url in (MESSAGES, DEAD, SUMMARY):
        response = api.get(url, {"campaign": other_sms.pk})
        assert (response.status_code, list(response.json())) == (400, ["campaign"])


# --- Dead letters ------------------------------------------------------------------------------


def test_dead_letters_are_the_failed_texts_latest_failure_first(api, sms):
    MessageFactory(campaign=sms)  # queued
    MessageFactory(campaign=sms, status="delivered", delivered=True)
    stale = dead(sms, "STALE", at=T0)
    undelivered = dead(sms, "UNDELIVERED", at=T0 + timedelta(minutes=5))
    billing = dead(sms, "BILLING", at=T0 - timedelta(minutes=5))

    assert ids(api.get(DEAD)) == [undelivered.pk, stale.pk, billing.pk]
    assert ids(api.get(DEAD, {"failure_reason": "BILLING"})) == [billing.pk]
    assert ids(api.get(DEAD, {"failure_reason__in": "STALE,BILLING"})) == [stale.pk, billing.pk]


def test_the_summary(api, org, sms):
    other = CampaignFactory(organization=org, channel="sms")
    dead(sms, "STALE")
    dead(sms, "STALE")
    dead(other, "UNDELIVERED")

    body = api.get(SUMMARY).json()

    assert (body["total"], body["retryable"]) == (3, 2)
    assert body["by_reason"]["STALE"] == 2 and body["by_reason"]["BILLING"] == 0
    assert body["by_campaign"] == [
        {"campaign": sms.pk, "failure_reason": "STALE", "count": 2},
        {"campaign": other.pk, "failure_reason": "UNDELIVERED", "count": 1},
    ]
    assert api.get(SUMMARY, {"campaign": other.pk}).json()["total"] == 1


def test_retry_by_ids_reports_what_was_queued_and_skipped(api, sms, other_sms):
    ours = dead(sms, "BILLING")
    undelivered = dead(sms, "UNDELIVERED", sid="SM" + "b" * 32)
    theirs = dead(other_sms, "BILLING")

    response = api.post(
        RETRY, {"ids": [ours.pk, undelivered.pk, theirs.pk, 999_999]}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {"requeued": 1, "skipped": 3}
    ours.refresh_from_db()
    assert (ours.status, ours.failure_reason, ours.prospect.status) == ("queued", "", "sending")
    assert Message.objects.get(pk=theirs.pk).status == "failed"
    assert Message.objects.get(pk=undelivered.pk).status == "failed"


def test_retry_by_reason_and_campaign(api, org, sms):
    other = CampaignFactory(organization=org, channel="sms", status="dialing")
    stale, elsewhere = dead(sms, "STALE"), dead(other, "STALE")
    response = api.post(RETRY, {"failure_reason": "STALE", "campaign": sms.pk}, format="json")
    assert response.json() == {"requeued": 1, "skipped": 0}
    assert Message.objects.get(pk=stale.pk).status == "queued"
    assert Message.objects.get(pk=elsewhere.pk).status == "failed"


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "ids"),
        ({"ids": []}, "ids"),
        ({"ids": "1,2"}, "ids"),
        ({"ids": [1], "failure_reason": "STALE"}, "ids"),
        ({"failure_reason": "LOST"}, "failure_reason"),
        ({"failure_reason": "UNDELIVERED"}, "failure_reason"),
        ({"campaign": "other"}, "campaign"),
    ],
)
def test_a_bad_retry_is_a_400_field_error_that_changes_nothing(api, other_sms, sms, body, field):
    dead(sms, "UNDELIVERED")
    dead(sms, "STALE")
    if body.get("campaign") == "other":
        body = {"campaign": other_sms.pk}
    before = snapshot()
    response = api.post(RETRY, body, format="json")
    assert (response.status_code, list(response.json())) == (400, [field])
    assert snapshot() == before


def test_retrying_undelivered_says_why(api):
    response = api.post(RETRY, {"failure_reason": "UNDELIVERED"}, format="json")
    assert "the carrier took them" in response.json()["failure_reason"][0]


# --- Two orgs and query counts -----------------------------------------------------------------


def test_another_orgs_messages_are_not_found_and_not_listed(api, other_api, sms, other_sms):
    ours, theirs = dead(sms, "STALE"), dead(other_sms, "STALE")
    assert api.get(f"{MESSAGES}{theirs.pk}/").status_code == 404
    for url in (MESSAGES, DEAD):
        assert ids(api.get(url)) == [ours.pk]
        assert ids(other_api.get(url)) == [theirs.pk]
    assert api.get(SUMMARY).json()["by_campaign"][0]["campaign"] == sms.pk
    assert other_api.get(SUMMARY).json()["total"] == 1


@pytest.mark.parametrize("url", [MESSAGES, DEAD, SUMMARY])
def test_lists_run_a_constant_number_of_queries(api, org, sms, url):
    def make(n: int) -> None:
        for i in range(n):
            campaign = CampaignFactory(organization=org, channel="sms")
            variant = MessageVariantFactory(campaign=campaign, name=f"V{i}")
            dead(campaign, "STALE", variant=variant)

    make(3)
    queries_of_get(api, url)
    few = queries_of_get(api, url)
    make(20)
    assert queries_of_get(api, url) == few <= 2
