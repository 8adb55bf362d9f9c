"""The real SDK against the simulator: create, fetch, list and update, and each refusal."""

import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from tests.carrier_simulator.conftest import (
    ACCOUNT,
    OTHER_ACCOUNT,
    OTHER_TOKEN,
    TOKEN,
)
from tests.waiting import eventually

RFC2822 = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$")
DID = "+14155550100"
PERSON = "+14155550102"
TWIML = "<Response><Pause/></Response>"
ERROR_KEYS = {"code", "message", "more_info", "status"}


def place(client, to=PERSON, **kwargs):
    return client.calls.create(to=to, from_=DID, twiml=TWIML, **kwargs)


def raw_post(sim, path, data, auth=(ACCOUNT, TOKEN)):
    return requests.post(sim.api_url(path), data=data, auth=auth, timeout=5)


def test_create_call_answers_like_twilio(sim, client):
    call = place(client)

    assert re.fullmatch(r"CA[0-9a-f]{32}", call.sid)
    assert call.status == "queued"
    assert call.direction == "outbound-api"
    assert call.queue_time == "0"
    assert call.to_formatted == "(415) 555-0102"
    assert call.date_created.tzinfo is not None
    assert call.uri == f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{call.sid}.json"
    assert {"notifications", "recordings"} <= set(call.subresource_uris)


def test_create_call_body_uses_rfc2822_dates_and_nulls(sim):
    response = raw_post(sim, "Calls.json", {"To": PERSON, "From": DID, "Url": "http://x.test/t"})

    assert response.status_code == 201
    body = response.json()
    assert RFC2822.match(body["date_created"])
    assert body["start_time"] is None and body["end_time"] is None and body["duration"] is None
    assert body["api_version"] == "2010-04-01" and body["price_unit"] == "USD"


def test_fetch_shows_the_call_once_it_ends(sim, client):
    sim.scenario(to_suffix={"0102": "human"})
    sid = place(client).sid

    call = eventually(lambda: (c := client.calls(sid).fetch()).status == "completed" and c)

    assert int(call.duration) > 0
    assert call.start_time is not None and call.end_time is not None
    assert call.answered_by is None  # no AMD asked for


def test_a_call_reads_the_same_fetched_or_listed(sim, client):
    sim.scenario(to_suffix={"0102": "human"})
    sid = place(client).sid
    eventually(lambda: client.calls(sid).fetch().status == "completed")

    fetched = requests.get(sim.api_url(f"Calls/{sid}.json"), auth=(ACCOUNT, TOKEN), timeout=5)
    listed = requests.get(sim.api_url("Calls.json"), auth=(ACCOUNT, TOKEN), timeout=5).json()

    assert fetched.text == json.dumps(listed["calls"][0])  # field for field, in Twilio's order


def test_list_filters_by_to_and_pages_newest_first(sim, client):
    sids = [place(client).sid for _ in range(5)]
    other = place(client, to="+14155550177").sid

    listed = client.calls.list(to=PERSON, page_size=2)

    assert [c.sid for c in listed] == sids[::-1]
    assert [c.sid for c in client.calls.list(to="+14155550177")] == [other]
    assert len(client.calls.list(from_=DID)) == 6


def test_list_filters_by_start_time_and_status(sim, client):
    sim.scenario(to_suffix={"0102": "busy"})
    sids = {place(client).sid for _ in range(3)}
    eventually(lambda: len(client.calls.list(status="busy")) == 3)
    yesterday = datetime.now(UTC) - timedelta(days=1)

    assert {c.sid for c in client.calls.list(start_time_after=yesterday)} == sids
    assert client.calls.list(start_time_before=yesterday) == []
    assert {c.sid for c in client.calls.list(start_time=datetime.now(UTC).date())} == sids
    assert client.calls.list(status="completed") == []


def test_calls_beyond_cps_wait_in_the_queue_and_can_be_canceled(sim, receiver, client):
    sim.scenario(cps=0.01)
    first = place(client)
    second = place(client, status_callback=receiver.url("/queued"))

    assert first.queue_time == "0" and int(second.queue_time) >= 99_000
    assert sim.stats()["calls"]["queued"] == 1
    assert client.calls(second.sid).update(status="canceled").status == "canceled"
    assert client.calls(second.sid).fetch().status == "canceled"
    (got,) = receiver.wait("/queued", 1)
    assert (got.params["CallStatus"], got.params["SequenceNumber"]) == ("canceled", "0")
    assert got.params["SipResponseCode"] == "487"
    assert sim.stats()["calls"]["queued"] == 0


def test_calls_leave_the_queue_at_one_per_second_by_default(sim, client):
    sim.put_scenario({"time_scale": 0, "seed": 7})  # the contract's rates

    first, second = place(client), place(client)

    assert first.queue_time == "0"
    assert 0 < int(second.queue_time) <= 1000
    assert client.calls(second.sid).fetch().status == "queued"


def test_over_24_hours_of_queued_calls_are_refused_with_22005(sim, client):
    sim.scenario(cps=1 / 50_000)  # 50,000 s per call: the third would wait over 24 h
    first, second = place(client), place(client)

    response = raw_post(sim, "Calls.json", {"To": PERSON, "From": DID, "Url": "http://x.test/t"})
    with pytest.raises(TwilioRestException) as caught:
        place(client)

    assert first.queue_time == "0" and int(second.queue_time) > 49_000_000
    assert response.status_code == 400 and set(response.json()) == ERROR_KEYS
    assert response.json()["code"] == 22005
    assert response.json()["more_info"] == "https://www.twilio.com/docs/errors/22005"
    assert (caught.value.status, caught.value.code) == (400, 22005)
    assert {c.sid for c in client.calls.list()} == {first.sid, second.sid}
    assert sim.stats()["rejections"] == {"22005": 2}


LIVE = {  # a person who stays on the line for 1000 simulated seconds (10 s real)
    "time_scale": 0.01,
    "ring_seconds": [0, 0],
    "call_durations": {"human": [1000, 1000]},
    "to_suffix": {"0102": "human"},
}
DROP = "<Response><Say>Hi, this is Acme &amp; Co. Call us back.</Say><Hangup/></Response>"


def live_call(sim, client):
    sim.scenario(**LIVE)
    sid = place(client).sid
    eventually(lambda: client.calls(sid).fetch().status == "in-progress")
    return sid


def test_completed_hangs_up_a_live_call_but_canceled_does_not(sim, client):
    sid = live_call(sim, client)

    assert client.calls(sid).update(status="canceled").status == "in-progress"
    ended = client.calls(sid).update(status="completed")

    assert ended.status == "completed"
    assert int(ended.duration) < 1000


def test_twiml_replaces_what_a_live_call_plays_then_it_completes(sim, client):
    sid = live_call(sim, client)

    updated = client.calls(sid).update(twiml=DROP)

    assert updated.status == "in-progress"
    (update,) = requests.get(f"{sim.base_url}/_sim/twiml-updates", timeout=5).json()[
        "twiml_updates"
    ]
    assert (update["sid"], update["to"], update["from"]) == (sid, PERSON, DID)
    assert (update["twiml"], update["url"]) == (DROP, None)
    assert RFC2822.match(update["at"])
    assert sim.stats()["calls"]["twiml_updates"] == 1
    # Nine words take a few simulated seconds, far less than the person's planned 1000.
    ended = eventually(lambda: (c := client.calls(sid).fetch()).status == "completed" and c)
    assert int(ended.duration) < 100
    assert sim.stats()["calls"]["by_status"] == {"completed": 1}


def test_a_url_wins_over_twiml_and_is_recorded(sim, client):
    sid = live_call(sim, client)

    client.calls(sid).update(url="https://example.test/drop.xml", twiml=DROP)

    update = requests.get(f"{sim.base_url}/_sim/twiml-updates", timeout=5).json()
    assert [(u["twiml"], u["url"]) for u in update["twiml_updates"]] == [
        (None, "https://example.test/drop.xml")
    ]
    assert eventually(lambda: client.calls(sid).fetch().status == "completed")


def test_a_document_that_does_not_parse_is_logged_12100_and_ends_the_call(sim, client):
    sid = live_call(sim, client)

    client.calls(sid).update(twiml="<Response><Say>unclosed</Response>")

    assert eventually(lambda: client.calls(sid).fetch().status == "completed")
    (note,) = client.calls(sid).notifications.list()
    assert (note.error_code, note.log) == ("12100", "0")


@pytest.mark.parametrize("state", ["completed", "ringing"])
def test_updating_a_call_that_is_not_in_progress_is_refused_with_21220(sim, client, state):
    if state == "completed":
        sid = place(client).sid  # time_scale 0: over as soon as it is placed
        assert client.calls(sid).fetch().status in ("completed", "busy", "no-answer", "failed")
    else:
        sim.scenario(time_scale=1, ring_seconds=[30, 30])
        sid = place(client).sid
        eventually(lambda: client.calls(sid).fetch().status == "ringing")
    response = raw_post(sim, f"Calls/{sid}.json", {"Twiml": DROP})
    with pytest.raises(TwilioRestException) as caught:
        client.calls(sid).update(twiml=DROP)

    assert response.status_code == 400 and set(response.json()) == ERROR_KEYS
    assert response.json()["code"] == 21220
    assert (caught.value.status, caught.value.code) == (400, 21220)
    assert sim.stats()["calls"]["twiml_updates"] == 0
    assert sim.stats()["rejections"] == {"21220": 2}
    updates = requests.get(f"{sim.base_url}/_sim/twiml-updates", timeout=5).json()
    assert updates == {"twiml_updates": []}


def test_create_and_fetch_message(sim, client):
    message = client.messages.create(to=PERSON, from_=DID, body="x" * 161)

    assert re.fullmatch(r"SM[0-9a-f]{32}", message.sid)
    assert message.status == "queued"
    assert message.num_segments == "2"
    assert message.direction == "outbound-api"
    assert "media" in message.subresource_uris
    assert client.messages(message.sid).fetch().to == PERSON


def test_message_segments_count_ucs2(sim, client):
    assert client.messages.create(to=PERSON, from_=DID, body="ж" * 70).num_segments == "1"
    assert client.messages.create(to=PERSON, from_=DID, body="ж" * 71).num_segments == "2"


def test_messaging_service_without_from_is_accepted_with_zero_segments(sim, client):
    message = client.messages.create(to=PERSON, messaging_service_sid="MG" + "0" * 32, body="hi")

    assert message.status == "accepted"
    assert message.num_segments == "0"
    assert message.from_ is None


def test_media_message_is_an_mm(sim, client):
    message = client.messages.create(to=PERSON, from_=DID, media_url=["https://x.test/a.png"])

    assert message.sid.startswith("MM") and message.num_media == "1"


def text(client, to=PERSON, from_=DID, body="hi"):
    return client.messages.create(to=to, from_=from_, body=body)


def test_messages_list_newest_first_by_to_and_from_over_pages(sim, client):
    sids = [text(client).sid for _ in range(5)]
    other = text(client, to="+14155550177", from_="+14155550101").sid

    assert [m.sid for m in client.messages.list(to=PERSON, page_size=2)] == sids[::-1]
    assert [m.sid for m in client.messages.list(from_="+14155550101")] == [other]
    assert [m.sid for m in client.messages.list(from_=DID, to="+14155550177")] == []
    assert [m.sid for m in client.messages.list(page_size=4)] == [other, *sids[::-1]]


def test_messages_list_by_the_day_or_window_they_were_sent(sim, client):
    sim.scenario(sms_delivery_rate=1.0)
    sids = {text(client).sid for _ in range(3)}
    eventually(lambda: all(client.messages(s).fetch().date_sent for s in sids))
    now = datetime.now(UTC)
    hour = timedelta(hours=1)

    assert {m.sid for m in client.messages.list(date_sent=now.date())} == sids
    assert client.messages.list(date_sent=(now - timedelta(days=1)).date()) == []
    assert {m.sid for m in client.messages.list(date_sent_after=now - hour)} == sids
    assert client.messages.list(date_sent_after=now + hour) == []
    assert client.messages.list(date_sent_before=now - hour) == []
    window = client.messages.list(date_sent_after=now - hour, date_sent_before=now + hour)
    assert {m.sid for m in window} == sids


def test_a_message_still_queued_is_listed_by_when_it_was_created(sim, client):
    sim.scenario(mps={"long_code": 0.001})  # the second waits 1,000 s behind the first
    text(client)
    waiting = text(client)
    hour = timedelta(hours=1)

    assert client.messages(waiting.sid).fetch().date_sent is None
    listed = client.messages.list(date_sent_after=datetime.now(UTC) - hour, to=PERSON)
    assert waiting.sid in {m.sid for m in listed}
    assert client.messages.list(date_sent_before=datetime.now(UTC) - hour) == []


def test_a_messages_page_is_twilios_envelope_and_reads_like_a_fetch(sim, client):
    sids = [text(client).sid for _ in range(3)]
    auth = (ACCOUNT, TOKEN)

    first = requests.get(
        sim.api_url("Messages.json"), params={"To": PERSON, "PageSize": 2}, auth=auth, timeout=5
    ).json()
    fetched = requests.get(sim.api_url(f"Messages/{sids[-1]}.json"), auth=auth, timeout=5)

    assert set(first) == {
        "messages",
        "end",
        "first_page_uri",
        "next_page_uri",
        "page",
        "page_size",
        "previous_page_uri",
        "start",
        "uri",
    }
    assert [m["sid"] for m in first["messages"]] == sids[:0:-1]
    assert first["messages"][0] == fetched.json()
    path = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert first["uri"] == f"{path}?To=%2B14155550102&PageSize=2&Page=0"
    assert first["next_page_uri"].startswith(f"{path}?To=%2B14155550102&PageSize=2&Page=1&")
    second = requests.get(sim.base_url + first["next_page_uri"], auth=auth, timeout=5).json()
    assert [m["sid"] for m in second["messages"]] == sids[:1]
    assert (second["page"], second["start"], second["next_page_uri"]) == (1, 2, None)
    by_page = requests.get(
        sim.api_url("Messages.json"), params={"PageSize": 2, "Page": 1}, auth=auth, timeout=5
    ).json()
    assert by_page["messages"] == second["messages"]


def test_a_bad_date_sent_filter_is_refused_with_20001(sim):
    response = requests.get(
        sim.api_url("Messages.json"),
        params={"DateSent>": "yesterday"},
        auth=(ACCOUNT, TOKEN),
        timeout=5,
    )

    assert response.status_code == 400 and response.json()["code"] == 20001


@pytest.mark.parametrize(
    ("create", "code"),
    [
        (lambda c: place(c, to="5551234567"), 21211),
        (lambda c: c.calls.create(to=PERSON, from_=DID), 21205),
        (lambda c: c.messages.create(to="12345", from_=DID, body="hi"), 21211),
        (lambda c: c.messages.create(to="", from_=DID, body="hi"), 21604),
        (lambda c: c.messages.create(to=PERSON, from_=DID), 21602),
        (lambda c: place(c, status_callback="http://my_host.test/s"), 21609),
        (lambda c: c.messages.create(to=PERSON, from_=DID, body="hi", status_callback="x"), 21609),
    ],
    ids=[
        "call-bad-to",
        "call-no-url",
        "sms-bad-to",
        "sms-no-to",
        "sms-no-body",
        "call-callback-host-underscore",
        "sms-callback-not-a-url",
    ],
)
def test_invalid_creates_are_refused(sim, client, create, code):
    with pytest.raises(TwilioRestException) as caught:
        create(client)

    assert (caught.value.status, caught.value.code) == (400, code)
    assert caught.value.msg.startswith("Unable to create record:")
    assert caught.value.uri.startswith(f"/Accounts/{ACCOUNT}/")


def test_landlines_cannot_be_texted_but_can_be_called(sim, client):
    sim.scenario(landlines=["+14155550199", "7777"])

    for number in ("+14155550199", "+14155557777"):
        with pytest.raises(TwilioRestException) as caught:
            client.messages.create(to=number, from_=DID, body="hi")
        assert caught.value.code == 21614
    assert place(client, to="+14155550199").status == "queued"


def test_error_body_is_the_legacy_shape(sim):
    response = raw_post(sim, "Messages.json", {"To": "123", "From": DID, "Body": "hi"})

    assert response.status_code == 400
    assert set(response.json()) == ERROR_KEYS
    assert response.json()["more_info"] == "https://www.twilio.com/docs/errors/21211"


@pytest.mark.parametrize(
    ("account", "token"),
    [(ACCOUNT, "wrong"), ("AC" + "9" * 32, TOKEN), (ACCOUNT, OTHER_TOKEN)],
    ids=["wrong-token", "unknown-account", "another-accounts-token"],
)
def test_bad_credentials_get_20003(sim, account, token):
    client = sim.client(account=account, token=token)

    with pytest.raises(TwilioRestException) as caught:
        place(client)

    assert (caught.value.status, caught.value.code) == (401, 20003)


def test_accounts_do_not_see_each_others_resources(sim, client):
    sid = place(client).sid
    other = sim.client(account=OTHER_ACCOUNT, token=OTHER_TOKEN)

    with pytest.raises(TwilioRestException) as caught:
        other.calls(sid).fetch()

    assert (caught.value.status, caught.value.code) == (404, 20404)
    assert other.calls.list() == []
    text(client)
    assert other.messages.list() == []


def test_unknown_sids_get_20404(sim, client):
    for fetch in (client.calls("CA" + "0" * 32).fetch, client.messages("SM" + "0" * 32).fetch):
        with pytest.raises(TwilioRestException) as caught:
            fetch()
        assert (caught.value.status, caught.value.code) == (404, 20404)


def test_too_many_concurrent_requests_get_429_with_retry_after(sim, client):
    sim.scenario(max_concurrent_requests=1, api_latency_ms=[300, 300])

    def attempt(_):
        try:
            return place(client)
        except TwilioRestException as exc:
            return exc

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(attempt, range(6)))
        raw = list(pool.map(lambda _: raw_post(sim, "Messages.json", {"To": PERSON}), range(4)))

    refused = [o for o in outcomes if isinstance(o, TwilioRestException)]
    assert refused and len(refused) < len(outcomes)
    assert {(e.status, e.code) for e in refused} == {(429, 20429)}
    limited = [r for r in raw if r.status_code == 429]
    assert limited and all(r.headers["Retry-After"] == "1" for r in limited)
    assert all(set(r.json()) == ERROR_KEYS and r.json()["code"] == 20429 for r in limited)


def test_a_sender_queue_over_ten_hours_refuses_with_21611(sim, client):
    sim.scenario(mps={"long_code": 0.0001})  # 10,000 s per segment

    for _ in range(4):
        client.messages.create(to=PERSON, from_=DID, body="hi")
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=PERSON, from_=DID, body="hi")

    assert caught.value.code == 21611
    assert client.messages.create(to=PERSON, from_="+14155550101", body="hi").status == "queued"


def test_a_message_queued_past_its_validity_period_fails_with_30036(sim, receiver, client):
    sim.scenario(mps={"long_code": 0.001})
    client.messages.create(to=PERSON, from_=DID, body="first")
    sid = client.messages.create(
        to=PERSON, from_=DID, body="late", validity_period=1, status_callback=receiver.url("/v")
    ).sid

    (got,) = receiver.wait("/v", 1)

    assert (got.params["MessageStatus"], got.params["ErrorCode"]) == ("failed", "30036")
    assert client.messages(sid).fetch().error_code == 30036


def test_texts_leave_each_sender_at_its_types_rate_by_default(sim, client):
    # Only short codes are named: long codes keep the contract's 1 segment per second.
    sim.put_scenario(
        {"time_scale": 0, "seed": 7, "sms_delivery_rate": 1.0, "mps": {"short_code": 500}}
    )

    first = client.messages.create(to=PERSON, from_=DID, body="one")
    second = client.messages.create(to=PERSON, from_=DID, body="two")
    other = client.messages.create(to=PERSON, from_="+14155550101", body="three")

    assert client.messages(second.sid).fetch().status == "queued"  # behind `first` on DID
    for sid in (first.sid, other.sid):
        eventually(lambda sid=sid: client.messages(sid).fetch().status == "delivered")


def test_a_messaging_service_over_ten_hours_creates_then_fails_with_30001(sim, receiver, client):
    sim.scenario(mps={"long_code": 0.0001})  # a service without From sends like one long code
    service = "MG" + "3" * 32
    for _ in range(4):
        client.messages.create(to=PERSON, messaging_service_sid=service, body="hi")

    overflow = client.messages.create(
        to=PERSON, messaging_service_sid=service, body="hi", status_callback=receiver.url("/mg")
    )
    (got,) = receiver.wait("/mg", 1)

    assert overflow.status == "accepted"  # created, not refused
    assert (got.params["MessageStatus"], got.params["ErrorCode"]) == ("failed", "30001")
    assert got.params["MessagingServiceSid"] == service and "RawDlrDoneDate" not in got.params
    fetched = client.messages(overflow.sid).fetch()
    assert (fetched.status, fetched.error_code) == ("failed", 30001)
    assert client.messages.create(to=PERSON, from_=DID, body="hi").status == "queued"
    assert "21611" not in sim.stats()["rejections"]
