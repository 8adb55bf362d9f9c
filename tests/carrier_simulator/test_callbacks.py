"""Callbacks: lifecycle order, SequenceNumber, signatures, AMD verdicts, SMS statuses, options."""

from email.utils import parsedate_to_datetime

import pytest
from twilio.base.exceptions import TwilioRestException

from carrier_simulator.scenario import MACHINE_END_VERDICTS
from tests.carrier_simulator.conftest import ACCOUNT
from tests.waiting import eventually

DID = "+14155550100"
ALL_EVENTS = ["initiated", "ringing", "answered", "completed"]
TWIML = "<Response><Pause/></Response>"


def place(client, receiver, to, path="/voice/status", **kwargs):
    kwargs.setdefault("status_callback_event", ALL_EVENTS)
    return client.calls.create(
        to=to,
        from_=kwargs.pop("from_", DID),
        twiml=TWIML,
        status_callback=receiver.url(path),
        **kwargs,
    )


def statuses(received, key="CallStatus"):
    return [r.params[key] for r in received]


def place_with_async_amd(client, receiver, mode="DetectMessageEnd", **kwargs):
    """A call to +14155550002 whose AMD verdict goes to the receiver's /voice/amd."""
    return place(
        client,
        receiver,
        "+14155550002",
        machine_detection=mode,
        async_amd="true",
        async_amd_status_callback=receiver.url("/voice/amd"),
        **kwargs,
    )


def test_call_callbacks_arrive_in_lifecycle_order_and_signed(sim, receiver, client):
    sim.scenario(to_suffix={"0002": "human"})
    sid = place(client, receiver, "+14155550002", path="/voice/status?campaign=42").sid

    got = receiver.wait("/voice/status", 4)

    assert statuses(got) == ["initiated", "ringing", "in-progress", "completed"]
    assert [r.params["SequenceNumber"] for r in got] == ["0", "1", "2", "3"]
    assert all(r.url.endswith("/voice/status?campaign=42") for r in got)
    assert all(r.signature_valid() for r in got)
    assert not any(r.signature_valid(token="another-token") for r in got)
    for r in got:
        p = r.params
        assert (p["CallSid"], p["AccountSid"], p["Direction"]) == (sid, ACCOUNT, "outbound-api")
        assert (p["Caller"], p["Called"]) == (DID, "+14155550002")
        assert p["CallbackSource"] == "call-progress-events"
        assert parsedate_to_datetime(p["Timestamp"]).tzinfo is not None
        assert r.headers["Content-Type"] == "application/x-www-form-urlencoded"
    terminal = got[-1].params
    assert int(terminal["CallDuration"]) > 0 and terminal["SipResponseCode"] == "200"
    assert int(terminal["Duration"]) >= 1
    assert "CallDuration" not in got[0].params and "AnsweredBy" not in terminal


def test_without_status_callback_event_only_completed_is_sent(sim, receiver, client):
    client.calls.create(
        to="+14155550002", from_=DID, twiml=TWIML, status_callback=receiver.url("/only")
    )

    got = receiver.wait("/only", 1, until=lambda g: "SipResponseCode" in g[-1].params)

    assert len(got) == 1 and got[0].params["SequenceNumber"] == "0"


def test_sequence_number_counts_only_callbacks_sent(sim, receiver, client):
    sim.scenario(to_suffix={"0002": "human"})
    place(client, receiver, "+14155550002", status_callback_event=["ringing", "completed"])

    got = receiver.wait("/voice/status", 2)

    assert statuses(got) == ["ringing", "completed"]
    assert [r.params["SequenceNumber"] for r in got] == ["0", "1"]


@pytest.mark.parametrize(
    ("outcome", "expected", "sip"),
    [
        ("busy", ["initiated", "ringing", "busy"], {"486"}),
        ("no_answer", ["initiated", "ringing", "no-answer"], {"487"}),
        ("failed", ["initiated", "failed"], {"404", "503"}),
    ],
)
def test_unanswered_outcomes_by_number_suffix(sim, receiver, client, outcome, expected, sip):
    sim.scenario(to_suffix={"0001": outcome})
    place(client, receiver, "+14155550001")

    got = receiver.wait("/voice/status", len(expected))

    assert statuses(got) == expected
    assert got[-1].params["CallDuration"] == "0" and got[-1].params["SipResponseCode"] in sip
    eventually(lambda: sim.stats()["calls"]["by_status"].get(expected[-1]) == 1)


def test_spam_labelled_caller_id_is_rejected_with_608(sim, receiver, client):
    sim.scenario(call_outcomes={"human": 1}, spam_from={"0666": 1.0})  # a suffix key
    place(client, receiver, "+14155550002", from_="+14155550666")
    place(client, receiver, "+14155550003", path="/clean")

    got = receiver.wait("/voice/status", 2)

    assert statuses(got) == ["initiated", "failed"]
    assert got[-1].params["SipResponseCode"] == "608"
    assert statuses(receiver.wait("/clean", 4))[-1] == "completed"


def test_an_invalid_number_fails_with_13224_in_the_call_log(sim, receiver, client):
    sim.scenario(to_suffix={"0404": "invalid_number"})
    sid = place(client, receiver, "+14155550404").sid

    got = receiver.wait("/voice/status", 2)

    assert statuses(got) == ["initiated", "failed"]  # no ringing: it was never routed
    assert got[-1].params["SipResponseCode"] == "404" and got[-1].params["CallDuration"] == "0"
    (note,) = client.calls(sid).notifications.list()
    assert (note.error_code, note.log, note.call_sid) == ("13224", "0", sid)
    assert note.sid.startswith("NO") and note.more_info.endswith("/errors/13224")
    assert client.calls(sid).notifications(note.sid).fetch().error_code == "13224"
    assert client.calls(sid).fetch().status == "failed"
    assert sim.stats()["notifications"] == {"13224": 1}


def test_async_amd_without_its_callback_logs_warning_21262(sim, receiver, client):
    sim.scenario(to_suffix={"0002": "human", "0003": "human"})
    quiet = place(
        client, receiver, "+14155550002", machine_detection="Enable", async_amd="true"
    ).sid
    sync = place(client, receiver, "+14155550003", path="/sync", machine_detection="Enable").sid

    receiver.wait("/voice/status", 4)
    receiver.wait("/sync", 4)

    (warning,) = client.calls(quiet).notifications.list()
    assert (warning.error_code, warning.log) == ("21262", "1")
    assert client.calls(quiet).notifications.list(log=0) == []
    assert client.calls(quiet).fetch().answered_by == "human"  # still on the call
    assert client.calls(sync).notifications.list() == []  # sync AMD needs no callback
    with pytest.raises(TwilioRestException) as caught:
        client.calls(quiet).notifications("NO" + "0" * 32).fetch()
    assert caught.value.code == 20404
    assert sim.stats()["callbacks"]["by_kind"].get("amd") is None


@pytest.mark.parametrize(
    ("mode", "outcome", "verdicts"),
    [
        ("Enable", "human", {"human"}),
        ("Enable", "machine", {"machine_start"}),
        ("DetectMessageEnd", "machine", set(MACHINE_END_VERDICTS)),
    ],
)
def test_async_amd_verdict_is_posted(sim, receiver, client, mode, outcome, verdicts):
    sim.scenario(to_suffix={"0002": outcome})
    sid = place_with_async_amd(client, receiver, mode).sid

    (amd,) = receiver.wait("/voice/amd", 1)
    terminal = receiver.wait("/voice/status", 4)[-1]

    assert amd.signature_valid()
    assert amd.params["CallSid"] == sid and amd.params["AccountSid"] == ACCOUNT
    assert amd.params["AnsweredBy"] in verdicts
    assert int(amd.params["MachineDetectionDuration"]) > 0
    assert terminal.params["AnsweredBy"] == amd.params["AnsweredBy"]
    assert client.calls(sid).fetch().answered_by == amd.params["AnsweredBy"]


def test_an_update_plays_its_twiml_and_an_amd_verdict_still_due_comes_first(sim, receiver, client):
    sim.scenario(
        time_scale=0.01,
        ring_seconds=[0, 0],
        call_durations={"machine": [1000, 1000]},
        amd_detection_ms=[20_000, 20_000],  # 0.2 s real: the update comes before the verdict
        to_suffix={"0002": "machine"},
    )
    sid = place_with_async_amd(client, receiver).sid
    receiver.wait("/voice/status", 3)  # answered
    message = " ".join(["word"] * 100)  # 40 simulated seconds of speech
    client.calls(sid).update(twiml=f"<Response><Say>{message}</Say><Hangup/></Response>")

    (amd,) = receiver.wait("/voice/amd", 1)
    received = receiver.wait("/voice/status", 4)

    assert statuses(received) == ["initiated", "ringing", "in-progress", "completed"]
    assert amd.params["AnsweredBy"] in MACHINE_END_VERDICTS
    assert received[-1].params["AnsweredBy"] == amd.params["AnsweredBy"]
    assert 40 <= int(received[-1].params["CallDuration"]) < 1000  # the message, not the plan


def test_a_late_amd_verdict_comes_after_completed(sim, receiver, client):
    sim.scenario(to_suffix={"0002": "machine"}, amd_verdict_delay_ms=[300, 300])
    sid = place_with_async_amd(client, receiver).sid

    completed = receiver.wait("/voice/status", 4)[-1]
    assert completed.params["CallStatus"] == "completed"
    assert "AnsweredBy" not in completed.params  # no verdict yet when the call ended
    assert client.calls(sid).fetch().answered_by is None
    assert receiver.at("/voice/amd") == []
    (amd,) = receiver.wait("/voice/amd", 1)
    assert amd.params["AnsweredBy"] in MACHINE_END_VERDICTS and amd.signature_valid()
    assert client.calls(sid).fetch().answered_by == amd.params["AnsweredBy"]


def test_amd_past_its_timeout_says_unknown(sim, receiver, client):
    sim.scenario(to_suffix={"0002": "machine"}, amd_detection_ms=[9000, 9000])
    place_with_async_amd(client, receiver, "Enable", machine_detection_timeout=3)

    (amd,) = receiver.wait("/voice/amd", 1)

    assert amd.params["AnsweredBy"] == "unknown"
    assert amd.params["MachineDetectionDuration"] == "3000"


def test_get_callbacks_carry_params_in_the_signed_url(sim, receiver, client):
    place(
        client,
        receiver,
        "+14155550002",
        path="/get?x=1",
        status_callback_event=["completed"],
        status_callback_method="GET",
    )

    (got,) = receiver.wait("/get", 1)

    assert got.method == "GET" and got.params["x"] == "1" and "CallStatus" in got.params
    assert got.signature_valid()


def test_sms_sent_then_delivered(sim, receiver, client):
    sim.scenario(sms_delivery_rate=1.0)
    sid = client.messages.create(
        to="+14155550002", from_=DID, body="hi", status_callback=receiver.url("/sms")
    ).sid

    got = receiver.wait("/sms", 2)

    assert statuses(got, "MessageStatus") == ["sent", "delivered"]
    assert all(r.signature_valid() for r in got)
    assert all(r.params["MessageSid"] == r.params["SmsSid"] == sid for r in got)
    assert "RawDlrDoneDate" not in got[0].params
    assert len(got[1].params["RawDlrDoneDate"]) == 10 and "ErrorCode" not in got[1].params
    assert client.messages(sid).fetch().status == "delivered"


def test_sms_undelivered_by_suffix_carries_the_error_code(sim, receiver, client):
    sim.scenario(to_suffix={"0009": "sms_undelivered"}, sms_error_codes={"30003": 1})
    sid = client.messages.create(
        to="+14155550009", from_=DID, body="hi", status_callback=receiver.url("/sms")
    ).sid

    got = receiver.wait("/sms", 2)

    assert statuses(got, "MessageStatus") == ["sent", "undelivered"]
    assert got[1].params["ErrorCode"] == "30003" and "RawDlrDoneDate" in got[1].params
    message = client.messages(sid).fetch()
    assert (message.status, message.error_code) == ("undelivered", 30003)


def test_sms_failed_is_never_sent(sim, receiver, client):
    sim.scenario(to_suffix={"0008": "sms_failed"}, sms_error_codes={"30007": 1})
    client.messages.create(
        to="+14155550008", from_=DID, body="hi", status_callback=receiver.url("/sms")
    )

    (got,) = receiver.wait("/sms", 1)

    assert got.params["MessageStatus"] == "failed" and got.params["ErrorCode"] == "30007"


def test_messaging_service_reports_queued_first(sim, receiver, client):
    sim.scenario(sms_delivery_rate=1.0)
    service = "MG" + "1" * 32
    client.messages.create(
        to="+14155550002",
        messaging_service_sid=service,
        body="hi",
        status_callback=receiver.url("/sms"),
    )

    got = receiver.wait("/sms", 3)

    assert statuses(got, "MessageStatus") == ["queued", "sent", "delivered"]
    assert all(r.params["MessagingServiceSid"] == service for r in got)


def test_duplicate_callbacks_are_delivered_twice(sim, receiver, client):
    sim.scenario(duplicate_callbacks=True, to_suffix={"0002": "human"})
    place(client, receiver, "+14155550002")

    got = receiver.wait("/voice/status", 8)

    assert [r.params["SequenceNumber"] for r in got] == ["0", "0", "1", "1", "2", "2", "3", "3"]
    tokens = [r.headers["I-Twilio-Idempotency-Token"] for r in got]
    assert tokens[0::2] == tokens[1::2] and len(set(tokens)) == 4


def test_out_of_order_shuffles_delivery_not_sequence_numbers(sim, receiver, client):
    sim.scenario(out_of_order=True, to_suffix={"0002": "human"})
    place(client, receiver, "+14155550002")
    client.messages.create(
        to="+14155550002", from_=DID, body="hi", status_callback=receiver.url("/sms")
    )

    calls = receiver.wait("/voice/status", 4)
    sms = receiver.wait("/sms", 2)

    sequence = [int(r.params["SequenceNumber"]) for r in calls]
    assert sorted(sequence) == [0, 1, 2, 3] and sequence != [0, 1, 2, 3]
    assert statuses(sms, "MessageStatus") in (["delivered", "sent"], ["undelivered", "sent"])


def test_a_failed_delivery_is_not_retried_by_default(sim, receiver, client):
    receiver.fail_next = 1
    place(client, receiver, "+14155550002", status_callback_event=["completed"])

    stats = eventually(lambda: (s := sim.stats())["callbacks"]["failed"] == 1 and s)

    assert stats["callbacks"]["retried"] == 0 and stats["callbacks"]["sent"] == 0
    assert receiver.at("/voice/status") == []


def test_a_failed_delivery_is_retried_when_asked(sim, receiver, client):
    sim.scenario(callback_retries=1, callback_retry_backoff_ms=1)
    receiver.fail_next = 1
    place(client, receiver, "+14155550002", status_callback_event=["completed"])

    (got,) = receiver.wait("/voice/status", 1)

    assert got.signature_valid()
    stats = eventually(lambda: (s := sim.stats())["callbacks"]["sent"] == 1 and s)
    assert stats["callbacks"]["retried"] == 1 and stats["callbacks"]["failed"] == 0


def test_a_delivery_that_keeps_failing_is_counted(sim, receiver, client):
    sim.scenario(callback_retries=2, callback_retry_backoff_ms=1)
    receiver.fail_next = 3
    place(client, receiver, "+14155550002", status_callback_event=["completed"])

    stats = eventually(lambda: (s := sim.stats())["callbacks"]["failed"] == 1 and s)

    assert stats["callbacks"]["retried"] == 2 and receiver.at("/voice/status") == []


def test_record_announces_the_recording_on_completed(sim, receiver, client):
    sim.scenario(to_suffix={"0002": "human"})
    place(client, receiver, "+14155550002", status_callback_event=["completed"], record=True)

    (got,) = receiver.wait("/voice/status", 1)

    assert got.params["RecordingSid"].startswith("RE")
    assert got.params["RecordingUrl"].endswith(got.params["RecordingSid"])
    assert got.params["RecordingDuration"] == got.params["CallDuration"]


def test_without_delivery_callbacks_are_counted_dropped_and_never_sent(sim, receiver, client):
    sim.scenario(deliver_callbacks=False, to_suffix={"0002": "human"})
    sid = place(client, receiver, "+14155550002").sid

    eventually(lambda: client.calls(sid).fetch().status == "completed", what="the call to end")

    assert sim.stats()["callbacks"]["dropped"] == 4  # initiated, ringing, answered, completed
    assert receiver.at("/voice/status") == []
