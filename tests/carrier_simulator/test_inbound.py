"""A person texting our number: the inbound webhook and Twilio's STOP/START/HELP handling."""

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from carrier_simulator.inbound import OPT_IN, OPT_OUT
from tests.carrier_simulator.conftest import ACCOUNT

DID = "+14155550100"
OTHER_DID = "+14155550101"
PERSON = "+14155550102"


def text(client, to=PERSON, from_=DID, **kwargs):
    return client.messages.create(to=to, from_=from_, body="hello", **kwargs)


def test_stop_opts_the_pair_out_until_start(sim, receiver, client):
    sim.scenario(inbound_url=receiver.url("/sms/inbound"))
    text(client)

    answer = sim.inbound(From=PERSON, To=DID, Body="  stop ")

    assert answer["action"] == "opt_out" and "unsubscribed" in answer["auto_reply"]
    with pytest.raises(TwilioRestException) as caught:
        text(client)
    assert (caught.value.status, caught.value.code) == (400, 21610)
    assert text(client, from_=OTHER_DID).status == "queued"  # only that sender
    assert sim.inbound(From=PERSON, To=DID, Body="START")["action"] == "opt_in"
    assert text(client).status == "queued"
    assert sim.stats()["rejections"] == {"21610": 1}


def test_the_inbound_webhook_is_forwarded_signed(sim, receiver, client):
    sim.scenario(inbound_url=receiver.url("/sms/inbound"))

    answer = sim.inbound(From=PERSON, To=DID, Body="STOP")
    (got,) = receiver.wait("/sms/inbound", 1)

    assert got.signature_valid()
    p = got.params
    assert p["MessageSid"] == p["SmsSid"] == p["SmsMessageSid"] == answer["sid"]
    assert (p["From"], p["To"], p["Body"], p["AccountSid"]) == (PERSON, DID, "STOP", ACCOUNT)
    assert (p["NumMedia"], p["NumSegments"], p["SmsStatus"]) == ("0", "1", "received")
    assert p["ApiVersion"] == "2010-04-01"


def test_every_keyword_in_any_case(sim):
    for word in sorted(OPT_OUT):
        assert sim.inbound(From=PERSON, To=DID, Body=word.lower())["action"] == "opt_out"
    for word in sorted(OPT_IN):
        assert sim.inbound(From=PERSON, To=DID, Body=word.title())["action"] == "opt_in"
    assert sim.inbound(From=PERSON, To=DID, Body="stop please")["action"] == "none"
    assert sim.stats()["opted_out_pairs"] == 0


def test_help_gets_an_auto_reply_and_does_not_opt_out(sim, client):
    answer = sim.inbound(From=PERSON, To=DID, Body="help")

    assert answer["action"] == "help" and answer["webhook_url"] is None
    replies = requests.get(f"{sim.base_url}/_sim/replies", timeout=5).json()["replies"]
    assert replies == [{"to": PERSON, "from": DID, "body": answer["auto_reply"]}]
    assert text(client).status == "queued"


def test_json_inbound_to_a_messaging_service_opts_out_of_the_service(sim, receiver, client):
    service = "MG" + "2" * 32
    response = requests.post(
        f"{sim.base_url}/_sim/inbound",
        json={
            "From": PERSON,
            "To": DID,
            "Body": "Unsubscribe",
            "MessagingServiceSid": service,
            "Url": receiver.url("/mg/inbound"),
        },
        timeout=5,
    )
    assert response.status_code == 201

    (got,) = receiver.wait("/mg/inbound", 1)
    assert got.params["OptOutType"] == "STOP" and got.params["MessagingServiceSid"] == service
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=PERSON, messaging_service_sid=service, body="hi")
    assert caught.value.code == 21610


def test_inbound_needs_from_to_and_body(sim):
    response = requests.post(f"{sim.base_url}/_sim/inbound", data={"From": PERSON}, timeout=5)

    assert response.status_code == 400
    assert "To" in response.json()["error"] and "Body" in response.json()["error"]
