"""`/_sim/stats`: what the carrier saw, and `/_sim/reset`."""

from twilio.base.exceptions import TwilioRestException

from tests.carrier_simulator.conftest import ACCOUNT, OTHER_ACCOUNT, OTHER_TOKEN
from tests.waiting import eventually

DID = "+14155550100"


def test_stats_count_traffic_rejections_concurrency_and_callbacks(sim, receiver, client):
    sim.scenario(to_suffix={"0001": "busy", "0002": "human"})
    for to in ("+14155550001", "+14155550001", "+14155550002"):
        client.calls.create(
            to=to, from_=DID, twiml="<Response/>", status_callback=receiver.url("/s")
        )
    sim.client(OTHER_ACCOUNT, OTHER_TOKEN).calls.create(
        to="+14155550003", from_=DID, url="http://x.test/t"
    )
    client.messages.create(to="+14155550002", from_=DID, body="hi")
    for bad in ("123", "456"):
        try:
            client.messages.create(to=bad, from_=DID, body="hi")
        except TwilioRestException:
            pass

    stats = eventually(lambda: (s := sim.stats())["callbacks"]["sent"] == 3 and s)

    calls = stats["calls"]
    assert calls["created"] == 4
    assert calls["by_to"] == {"+14155550001": 2, "+14155550002": 1, "+14155550003": 1}
    assert calls["by_from"] == {DID: 4}
    assert calls["by_account"] == {ACCOUNT: 3, OTHER_ACCOUNT: 1}
    eventually(lambda: sim.stats()["calls"]["concurrent"]["current"] == 0)
    assert calls["concurrent"]["peak"] >= 1
    assert calls["concurrent_by_account"][ACCOUNT]["peak"] >= 1
    assert stats["messages"]["created"] == 1 and stats["messages"]["by_to"] == {"+14155550002": 1}
    assert stats["rejections"] == {"21211": 2}
    assert sim.stats()["calls"]["by_status"]["busy"] == 2


def test_limit_keeps_the_busiest_numbers(sim, client):
    for to in ("+14155550001", "+14155550001", "+14155550002"):
        client.messages.create(to=to, from_=DID, body="hi")

    stats = sim.http.get(f"{sim.base_url}/_sim/stats?limit=1", timeout=5).json()

    assert stats["messages"]["by_to"] == {"+14155550001": 2}


def test_reset_forgets_everything(sim, client):
    sid = client.messages.create(to="+14155550002", from_=DID, body="hi").sid
    sim.inbound(From="+14155550002", To=DID, Body="STOP")

    sim.reset()

    stats = sim.stats()
    assert stats["messages"]["created"] == 0 and stats["opted_out_pairs"] == 0
    try:
        client.messages(sid).fetch()
        raise AssertionError("the message survived the reset")
    except TwilioRestException as exc:
        assert exc.code == 20404
    assert client.messages.create(to="+14155550002", from_=DID, body="hi").status == "queued"
