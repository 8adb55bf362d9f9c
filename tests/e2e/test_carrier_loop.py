"""The whole carrier loop with real processes: the SDK places calls and texts on the simulator,
the simulator calls the live web tier back with signed webhooks, and a Celery worker applies
the inbox. Nothing in this test process applies an event."""

import pytest
import requests

from messaging.models import CarrierCall, CarrierMessage, WebhookEvent
from messaging.providers import CallRequest, ProviderError, get_provider
from messaging.services import carrier_call_record, webhook_url
from prospects.models import Prospect, Suppression
from tests.carrier import sim_scenario
from tests.factories import CampaignFactory, DidFactory, OrganizationFactory, make_prospect
from tests.waiting import eventually

pytestmark = pytest.mark.django_db(transaction=True)

DID = "+14155550100"


def place_call(org, to: str):
    info = get_provider().originate_call(
        CallRequest(
            to=to,
            from_=DID,
            status_callback=webhook_url("twilio-voice-status"),
            amd_callback=webhook_url("twilio-voice-amd"),
        )
    )
    return carrier_call_record(org=org, call=info, to=to, from_number=DID)


def test_call_callbacks_reach_the_inbox_and_the_worker_applies_them(
    carrier, webhook_worker, simulator
):
    org = OrganizationFactory()
    sim_scenario(
        carrier,
        to_suffix={"0001": "human", "0002": "machine", "0003": "busy", "0004": "no_answer"},
        # a carrier that repeats and reorders its callbacks
        out_of_order=True,
        duplicate_callbacks=True,
        callback_delay_ms=[0, 40],
    )
    calls = {n: place_call(org, f"+1415555000{n}") for n in (1, 2, 3, 4)}
    unknown = get_provider().originate_call(  # a call this platform has no record of
        CallRequest(
            to="+14155550001", from_=DID, status_callback=webhook_url("twilio-voice-status")
        )
    )

    def settled():
        rows = {c.sid: c for c in CarrierCall.objects.all()}
        done = all(rows[c.sid].status_rank >= 4 for c in calls.values())
        pending = WebhookEvent.objects.filter(processed_at__isnull=True).exists()
        return done and not pending and rows

    rows = eventually(
        settled, timeout=30, what="every call completed", logs=[webhook_worker, simulator[0]]
    )
    final = {n: rows[c.sid] for n, c in calls.items()}
    assert final[1].status == "completed" and final[1].answered_by == "human"
    assert final[1].duration_seconds > 0
    assert final[2].status == "completed" and final[2].answered_by.startswith("machine")
    assert final[3].status == "busy" and final[4].status == "no-answer"
    assert all(r.sequence_number >= 1 for r in final.values())

    events = WebhookEvent.objects.filter(sid=calls[1].sid, kind="voice_status")
    assert sorted(events.values_list("sequence", flat=True)) == [0, 1, 2, 3]  # repeats dropped
    stats = requests.get(f"{carrier}/_sim/stats", timeout=5).json()
    assert stats["callbacks"]["sent"] > WebhookEvent.objects.count()  # duplicates were sent
    assert set(WebhookEvent.objects.filter(sid=unknown.sid).values_list("outcome", flat=True)) == {
        "unknown_sid"
    }
    assert CarrierCall.objects.filter(sid=unknown.sid).count() == 0


def test_texts_stop_help_and_replies_go_round_the_loop(carrier, webhook_worker, simulator):
    org = OrganizationFactory(sms_help_text="Acme: reply STOP to opt out.")
    DidFactory(organization=org, e164=DID)
    campaign_prospect = make_prospect(CampaignFactory(organization=org), "+14155550011")
    sim_scenario(
        carrier,
        sms_delivery_rate=1.0,
        to_suffix={"0012": "sms_undelivered"},
        inbound_url=webhook_url("twilio-sms-inbound"),
    )
    provider = get_provider()
    sent = {}
    for to in ("+14155550011", "+14155550012"):
        info = provider.send_sms(
            to=to, from_=DID, body="Hi there", status_callback=webhook_url("twilio-sms-status")
        )
        sent[to] = CarrierMessage.objects.create(
            sid=info.sid, organization=org, to=to, from_number=DID, status=info.status
        )

    def final_statuses():
        rows = dict(CarrierMessage.objects.values_list("to", "status"))
        return rows if {rows.get(t) for t in sent} <= {"delivered", "undelivered"} else None

    rows = eventually(final_statuses, timeout=30, what="both texts final", logs=[webhook_worker])
    assert rows == {"+14155550011": "delivered", "+14155550012": "undelivered"}
    assert CarrierMessage.objects.get(to="+14155550012").error_code is not None

    # A reply marks the prospect; STOP suppresses the sender and the carrier refuses them.
    inbound = f"{carrier}/_sim/inbound"
    requests.post(inbound, data={"From": "+14155550011", "To": DID, "Body": "who is this?"})
    eventually(
        lambda: Prospect.objects.get(pk=campaign_prospect.pk).replied_at,
        timeout=30,
        what="prospect marked replied",
        logs=[webhook_worker],
    )
    requests.post(inbound, data={"From": "+14155550013", "To": DID, "Body": " Stop "})
    entry = eventually(
        lambda: Suppression.objects.filter(organization=org, e164="+14155550013").first(),
        timeout=30,
        what="STOP suppression",
        logs=[webhook_worker],
    )
    assert (entry.reason, entry.source) == ("stop", "inbound_sms")
    with pytest.raises(ProviderError) as caught:
        provider.send_sms(
            to="+14155550013",
            from_=DID,
            body="hi",
            status_callback=webhook_url("twilio-sms-status"),
        )
    assert caught.value.opted_out

    # HELP gets the org's help text back from the worker, through the carrier.
    requests.post(inbound, data={"From": "+14155550014", "To": DID, "Body": "help"})

    def texted_back():
        stats = requests.get(f"{carrier}/_sim/stats", timeout=5).json()
        return stats["messages"]["by_to"].get("+14155550014")

    assert eventually(texted_back, timeout=30, what="HELP reply", logs=[webhook_worker]) == 1
