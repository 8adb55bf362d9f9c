"""TwilioProvider, the code the engine calls, against the simulator over HTTP: what it returns,
and how each carrier refusal is classified for the caller."""

import random
import socket
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone

import pytest

from messaging.providers import (
    CallRequest,
    MessageInfo,
    MessageRequest,
    ProviderError,
    retry_delay,
)
from messaging.providers.twilio import POOL_SIZE, TwilioProvider
from messaging.services import provider_error_handle
from prospects.models import Suppression
from tests.carrier_simulator.conftest import ACCOUNT, TOKEN
from tests.waiting import eventually

DID = "+14155550100"
OTHER_DID = "+14155550101"
PERSON = "+14155550102"


@pytest.fixture
def provider(sim):
    return TwilioProvider(account_sid=ACCOUNT, auth_token=TOKEN, base_url=sim.base_url, timeout=5)


def call(provider, receiver, to=PERSON, **kwargs):
    return provider.originate_call(
        CallRequest(
            to=to,
            from_=DID,
            status_callback=receiver.url("/status"),
            amd_callback=receiver.url("/amd"),
            **kwargs,
        )
    )


def test_a_call_is_placed_with_amd_and_its_callbacks_arrive(sim, receiver, provider):
    sim.scenario(to_suffix={"0102": "human"})
    info = call(provider, receiver)

    assert info.sid.startswith("CA") and info.status == "queued"
    assert (info.to, info.from_) == (PERSON, DID)
    statuses = receiver.wait("/status", 4)
    assert [r.params["CallStatus"] for r in statuses] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert all(r.signature_valid() and r.params["CallSid"] == info.sid for r in statuses)
    assert receiver.wait("/amd", 1)[0].params["AnsweredBy"] == "human"
    done = eventually(lambda: (c := provider.fetch_call(info.sid)).status == "completed" and c)
    assert done.answered_by == "human" and done.duration > 0 and done.end_time is not None


def test_a_batch_of_calls_goes_out_at_once_each_with_its_answer_in_order(sim, receiver, provider):
    sim.scenario(to_suffix={"0102": "human", "0103": "human"})
    asks = [
        CallRequest(
            to=to,
            from_=DID,
            status_callback=receiver.url("/status"),
            amd_callback=receiver.url("/amd"),
        )
        for to in (PERSON, "5551234567", "+14155550103")
    ]

    first, refused, third = provider.originate_calls(asks)

    assert (first.to, third.to) == (PERSON, "+14155550103")
    assert isinstance(refused, ProviderError) and refused.code == 21211
    statuses = receiver.wait("/status", 8)
    assert {r.params["CallSid"] for r in statuses} == {first.sid, third.sid}
    assert all(r.signature_valid() for r in statuses)  # every status event was asked for
    assert len(receiver.wait("/amd", 2)) == 2


def test_a_call_can_run_the_twiml_at_a_url_instead_of_inline(sim, receiver, provider):
    info = call(provider, receiver, twiml_url="https://example.com/answer.xml")
    assert info.sid.startswith("CA")
    assert receiver.wait("/status", 1)[0].params["CallSid"] == info.sid

    # The URL went to the carrier, which checks it.
    with pytest.raises(ProviderError) as caught:
        call(provider, receiver, twiml_url="answer.xml")
    assert (caught.value.code, caught.value.http_status) == (21205, 400)


def test_calls_are_listed_by_to_from_and_start_time_for_reconciliation(sim, receiver, provider):
    before = datetime.now(UTC) - timedelta(minutes=1)
    first = call(provider, receiver, to="+14155550103")
    second = call(provider, receiver, to="+14155550104")

    assert {c.sid for c in provider.list_calls(from_=DID)} == {first.sid, second.sid}
    assert [c.sid for c in provider.list_calls(to="+14155550104")] == [second.sid]
    assert len(provider.list_calls(to="+14155550103", started_after=before)) == 1
    assert provider.list_calls(to="+14155550103", started_before=before) == []


def test_hangup_ends_a_live_call(sim, receiver, provider):
    sim.scenario(time_scale=1, ring_seconds=[30, 30])  # rings long enough to be hung up
    info = call(provider, receiver)

    ended = provider.hangup_call(info.sid)

    assert ended.sid == info.sid and ended.status in ("canceled", "completed")
    assert provider.fetch_call(info.sid).status in ("canceled", "completed")


def test_new_twiml_plays_on_a_live_call_and_a_finished_call_refuses_it(sim, receiver, provider):
    sim.scenario(time_scale=0.01, ring_seconds=[0, 0], call_durations={"human": [1000, 1000]})
    live = call(provider, receiver, machine_detection=None)
    eventually(lambda: provider.fetch_call(live.sid).status == "in-progress")
    twiml = "<Response><Say>Hello from Acme.</Say><Hangup/></Response>"

    assert provider.update_call_twiml(live.sid, twiml).status == "in-progress"
    assert eventually(lambda: provider.fetch_call(live.sid).status == "completed")
    assert sim.stats()["calls"]["twiml_updates"] == 1

    with pytest.raises(ProviderError) as caught:
        provider.update_call_twiml(live.sid, twiml)
    error = caught.value
    assert (error.code, error.http_status) == (21220, 400)
    assert not (error.transient or error.permanent_for_number or error.opted_out)


def test_a_text_is_sent_and_fetched(sim, receiver, provider):
    sim.scenario(sms_delivery_rate=1.0)
    info = provider.send_sms(
        to=PERSON, from_=DID, body="hello ✓", status_callback=receiver.url("/sms")
    )

    assert info.sid.startswith("SM") and info.status == "queued" and info.num_segments == 1
    statuses = receiver.wait("/sms", 2)
    assert [r.params["MessageStatus"] for r in statuses] == ["sent", "delivered"]
    assert eventually(lambda: provider.fetch_message(info.sid).status == "delivered")


def texts(receiver, *numbers, from_=DID, **kwargs):
    return [
        MessageRequest(
            to=to, from_=from_, body="hi", status_callback=receiver.url("/sms"), **kwargs
        )
        for to in numbers
    ]


def test_a_batch_of_texts_goes_out_at_once_each_with_its_answer_in_order(sim, receiver, provider):
    sim.scenario(sms_delivery_rate=1.0, landlines=["+14155550199"])
    sim.inbound(From="+14155550198", To=DID, Body="STOP")
    asks = texts(receiver, PERSON, "5551234567", "+14155550198", "+14155550199", "+14155550103")

    first, invalid, opted_out, landline, last = provider.send_messages(asks)

    for info, to in ((first, PERSON), (last, "+14155550103")):
        assert isinstance(info, MessageInfo) and info.sid.startswith("SM")
        assert (info.to, info.from_, info.status, info.num_segments) == (to, DID, "queued", 1)
        assert info.date_created is not None and info.error_code is None
    assert (invalid.code, invalid.permanent_for_number) == (21211, True)
    assert (opted_out.code, opted_out.opted_out, opted_out.transient) == (21610, True, False)
    assert (landline.code, landline.permanent_for_number) == (21614, True)
    delivered = receiver.wait("/sms", 4)
    assert {r.params["MessageSid"] for r in delivered} == {first.sid, last.sid}
    assert all(r.signature_valid() for r in delivered)


def test_a_batch_larger_than_the_pool_answers_in_the_order_asked(sim, receiver, provider):
    numbers = [f"+1415555{i:04d}" for i in range(1000, 1000 + 2 * POOL_SIZE + 3)]
    asks = texts(receiver, *numbers, validity_period=600)

    answers = provider.send_messages(asks)

    assert [a.to for a in answers] == numbers
    assert len({a.sid for a in answers}) == len(numbers)


def test_a_full_sender_queue_refuses_the_text_with_21611(sim, receiver, provider):
    sim.scenario(mps={"long_code": 0.0001})  # 10,000 s per segment: four fill 10 hours
    assert all(
        isinstance(a, MessageInfo) for a in provider.send_messages(texts(receiver, *[PERSON] * 4))
    )

    full, other_sender = provider.send_messages(
        [*texts(receiver, PERSON), *texts(receiver, PERSON, from_=OTHER_DID)]
    )

    assert isinstance(full, ProviderError)
    assert (full.code, full.http_status) == (21611, 400)
    assert not (full.transient or full.permanent_for_number or full.opted_out)
    assert isinstance(other_sender, MessageInfo) and other_sender.from_ == OTHER_DID


def test_texts_are_listed_by_to_from_and_send_time_for_reconciliation(sim, receiver, provider):
    sim.scenario(sms_delivery_rate=1.0)
    (first,) = provider.send_messages(texts(receiver, PERSON))
    (second,) = provider.send_messages(texts(receiver, "+14155550103"))
    (other,) = provider.send_messages(texts(receiver, PERSON, from_=OTHER_DID))
    receiver.wait("/sms", 6)  # sent and delivered, each
    now = datetime.now(UTC)
    minute = timedelta(minutes=1)

    assert [m.sid for m in provider.list_messages(to=PERSON)] == [other.sid, first.sid]
    assert [m.sid for m in provider.list_messages(from_=DID)] == [second.sid, first.sid]
    assert [m.sid for m in provider.list_messages(to=PERSON, from_=OTHER_DID)] == [other.sid]
    listed = provider.list_messages(to="+14155550103", sent_after=now - minute)
    assert [(m.sid, m.status, m.from_) for m in listed] == [(second.sid, "delivered", DID)]
    assert listed[0].date_sent is not None and listed[0].date_created is not None
    assert provider.list_messages(sent_before=now - minute) == []
    assert provider.list_messages(sent_after=now + minute) == []
    # Bounds in another zone mean the same moments.
    eastern = timezone(timedelta(hours=-5))
    assert len(provider.list_messages(sent_before=(now + minute).astimezone(eastern))) == 3
    assert provider.list_messages(sent_after=(now + minute).astimezone(eastern)) == []


def test_listing_reads_every_page(sim, receiver, provider):
    sim.scenario(deliver_callbacks=False)
    numbers = [f"+1415556{i:04d}" for i in range(1001)]  # over the 1000 a page holds
    sent = provider.send_messages(texts(receiver, *numbers))

    listed = provider.list_messages(from_=DID)

    assert len(listed) == len(sent)
    assert {m.sid for m in listed} == {m.sid for m in sent}


@pytest.mark.parametrize("to", ["5551234567", "+1415555"], ids=["fictional", "short"])
def test_an_invalid_number_is_permanent_for_that_number(sim, receiver, provider, to):
    with pytest.raises(ProviderError) as caught:
        call(provider, receiver, to=to)

    error = caught.value
    assert (error.code, error.http_status) == (21211, 400)
    assert error.permanent_for_number and not error.transient and not error.opted_out


def test_a_landline_cannot_be_texted(sim, receiver, provider):
    sim.scenario(landlines=[PERSON])
    with pytest.raises(ProviderError) as caught:
        provider.send_sms(to=PERSON, from_=DID, body="hi", status_callback=receiver.url("/s"))
    assert caught.value.code == 21614 and caught.value.permanent_for_number


def test_stop_then_a_send_is_refused_with_21610_and_suppresses_the_number(
    sim, receiver, provider, org, other_org
):
    sim.inbound(From=PERSON, To=DID, Body="stop")

    with pytest.raises(ProviderError) as caught:
        provider.send_sms(to=PERSON, from_=DID, body="hi", status_callback=receiver.url("/s"))
    error = caught.value
    assert (error.code, error.opted_out, error.transient) == (21610, True, False)

    provider_error_handle(org=org, to=PERSON, error=error)
    entry = Suppression.objects.get(organization=org, e164=PERSON)
    assert (entry.reason, entry.source) == ("stop", "carrier:21610")
    assert not Suppression.objects.filter(organization=other_org).exists()

    sim.inbound(From=PERSON, To=DID, Body="START")
    assert provider.send_sms(
        to=PERSON, from_=DID, body="hi", status_callback=receiver.url("/s")
    ).sid.startswith("SM")


def test_too_many_concurrent_requests_is_transient(sim, receiver, provider):
    sim.scenario(max_concurrent_requests=1, api_latency_ms=[300, 300])

    def attempt(i):
        try:
            return call(provider, receiver, to=f"+1415555{i:04d}")
        except ProviderError as exc:
            return exc

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(attempt, range(200, 206)))

    refused = [o for o in outcomes if isinstance(o, ProviderError)]
    assert refused and len(refused) < len(outcomes)
    assert all((e.code, e.http_status, e.transient) == (20429, 429, True) for e in refused)


def test_bad_credentials_are_not_retried(sim, receiver):
    provider = TwilioProvider(account_sid=ACCOUNT, auth_token="wrong", base_url=sim.base_url)
    with pytest.raises(ProviderError) as caught:
        call(provider, receiver)
    assert (caught.value.code, caught.value.http_status, caught.value.transient) == (
        20003,
        401,
        False,
    )
    with pytest.raises(ProviderError) as listing:  # a list page, refused
        provider.list_calls(to=PERSON)
    assert (listing.value.code, listing.value.http_status) == (20003, 401)


def test_an_unknown_account_can_neither_text_nor_list(sim, receiver):
    provider = TwilioProvider(account_sid="AC" + "9" * 32, auth_token=TOKEN, base_url=sim.base_url)

    [refused] = provider.send_messages(texts(receiver, PERSON))
    with pytest.raises(ProviderError) as caught:
        provider.list_messages(to=PERSON)

    for error in (refused, caught.value):
        assert (error.code, error.http_status, error.transient) == (20003, 401, False)


def test_an_unreachable_carrier_is_transient(receiver):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    provider = TwilioProvider(
        account_sid=ACCOUNT, auth_token=TOKEN, base_url=f"http://127.0.0.1:{port}", timeout=2
    )
    with pytest.raises(ProviderError) as caught:
        call(provider, receiver)
    assert caught.value.transient and caught.value.code is None
    assert not caught.value.maybe_done  # never reached the carrier: safe to try again
    [refused] = provider.originate_calls([CallRequest(to=PERSON, from_=DID, status_callback="")])
    assert refused.transient and not refused.maybe_done


def test_an_answer_that_never_comes_may_mean_the_call_was_placed(sim, receiver):
    sim.scenario(api_latency_ms=[600, 600])
    provider = TwilioProvider(
        account_sid=ACCOUNT, auth_token=TOKEN, base_url=sim.base_url, timeout=0.2
    )
    with pytest.raises(ProviderError) as caught:
        call(provider, receiver, to="+14155550177")

    assert caught.value.maybe_done and caught.value.transient
    # The carrier went on with the request after the client stopped waiting.
    eventually(lambda: sim.stats()["calls"]["created"] == 1, what="the call at the carrier")

    [lost] = provider.originate_calls([CallRequest(to=PERSON, from_=DID, status_callback="")])
    assert isinstance(lost, ProviderError) and lost.maybe_done
    eventually(lambda: sim.stats()["calls"]["created"] == 2, what="the second call")


def test_retry_delays_grow_with_jitter_and_respect_retry_after():
    rng = random.Random(1)
    delays = [[retry_delay(n, rng=rng) for _ in range(200)] for n in range(12)]
    for n, samples in enumerate(delays):
        ceiling = min(300.0, 2.0 * 2**n)
        assert all(0 <= d <= ceiling for d in samples)
        assert len({round(d, 6) for d in samples}) > 150  # spread out, not one value
    assert max(delays[10]) > max(delays[1]) * 10
    assert all(retry_delay(0, retry_after=30, rng=rng) >= 30 for _ in range(50))
