"""The live feed: each call outcome and campaign happening appends its event, with what a feed
shows (the prospect, the number, the caller ID, how it went), to the campaign's and the org's
streams and to no other org's. Calls go through the simulated carrier and its callbacks
through the live webhooks."""

from datetime import timedelta

import pytest

from campaigns.models import CallAttempt, Campaign
from config.events import campaign_stream, events_read, org_stream
from orgs.models import AlertDelivery, Organization
from prospects.models import Prospect, Suppression
from tests.campaigns.conftest import NOON, dial, import_due, place, settled, tick, work_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("callbacks", "dialing_streams"),
]

TO, CALLER_ID = "+14155550101", "+14156660001"


def feeds(campaign, other_campaign):
    """(campaign stream, org stream) as (type, data) pairs; the other org's must be empty."""
    assert events_read(campaign_stream(other_campaign.pk)) == []
    assert events_read(org_stream(other_campaign.organization_id)) == []
    org_feed = events_read(org_stream(campaign.organization_id))
    assert {e["campaign"] for e in org_feed} == {str(campaign.pk)}
    return (
        [(e["type"], e["data"]) for e in events_read(campaign_stream(campaign.pk))],
        [(e["type"], e["data"]) for e in org_feed],
    )


HUMAN, MACHINE = {"human": 1}, {"machine": 1}
# outcome: (scenario, answered_by, duration, retried by the default policy)
OUTCOMES = {
    "human_connected": ({"call_outcomes": HUMAN, "call_durations": {"human": [45, 45]}},
                        "human", 45, False),
    "human_hangup": ({"call_outcomes": HUMAN, "call_durations": {"human": [4, 4]}},
                     "human", 4, False),
    "voicemail": ({"call_outcomes": MACHINE, "call_durations": {"machine": [20, 20]}},
                  "machine_start", 20, True),
    "no_answer": ({"call_outcomes": {"no_answer": 1}}, "", 0, True),
    "busy": ({"call_outcomes": {"busy": 1}}, "", 0, True),
    "failed": ({"call_outcomes": {"failed": 1}}, "", 0, False),
}  # fmt: skip


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_each_call_outcome_has_its_event(dialing, other_campaign, carrier, outcome):
    scenario, answered_by, duration, retry = OUTCOMES[outcome]
    carrier.scenario(**scenario)
    (attempt,) = dial(dialing, TO)
    work_until(settled(attempt))

    prospect = Prospect.objects.get()
    call = {"prospect": prospect.pk, "to": TO, "caller_id": CALLER_ID}
    outcome_data = {
        **call,
        "sid": attempt.sid,
        "answered_by": answered_by,
        "duration": duration,
        "retry": retry,
    }
    if outcome == "voicemail":
        outcome_data["drop"] = "none"  # the campaign has no drop
    expected = [("campaign.call.initiated", call), (f"campaign.call.{outcome}", outcome_data)]
    assert feeds(dialing, other_campaign) == (expected, expected)
    assert prospect.last_outcome == outcome


def test_a_suppressed_number_has_its_dnc_event_and_no_call(dialing, other_campaign, carrier, org):
    import_due(dialing, f"{TO},,")
    tick()
    Suppression.objects.create(organization=org, e164=TO, reason="dnc")
    assert place(dialing) == {"dnc": 1}

    expected = [("campaign.prospect.dnc", {"prospect": Prospect.objects.get().pk, "to": TO})]
    assert feeds(dialing, other_campaign) == (expected, expected)
    assert carrier.stats()["calls"]["created"] == 0


def test_no_healthy_caller_id_pauses_the_campaign_with_its_event(
    dialing, other_campaign, carrier, org
):
    import_due(dialing, f"{TO},,")
    tick()
    org.dids.update(state="cooling")
    assert place(dialing) == {"no_dids": 1}

    expected = [("campaign.paused.no_dids", {})]
    assert feeds(dialing, other_campaign) == (expected, expected)
    assert Campaign.objects.get(pk=dialing.pk).pause_reason == "no_dids"


def test_a_no_dids_pause_alerts_the_organization(dialing, other_campaign, carrier, org):
    Organization.objects.filter(pk=org.pk).update(alert_webhook_url="https://hooks.test/a")
    import_due(dialing, f"{TO},,", "+14155550102,,")
    tick()
    org.dids.update(state="cooling")
    assert place(dialing) == {"no_dids": 2}

    (alert,) = AlertDelivery.objects.all()
    assert (alert.organization_id, alert.event) == (org.pk, "campaign.paused.no_dids")
    assert alert.payload["data"] == {
        "campaign_id": dialing.pk,
        "campaign_name": dialing.name,
        "reason": "no_dids",
    }


def test_the_last_outcome_then_the_completed_event(dialing, other_campaign, carrier):
    Campaign.objects.filter(pk=dialing.pk).update(retry_outcomes=[])
    carrier.scenario(call_outcomes={"busy": 1})
    (attempt,) = dial(dialing, TO)
    work_until(settled(attempt))
    assert tick(NOON + timedelta(seconds=1))["completed"] == 1

    campaign_feed, org_feed = feeds(dialing, other_campaign)
    assert [t for t, _ in campaign_feed] == [
        "campaign.call.initiated",
        "campaign.call.busy",
        "campaign.completed",
    ]
    assert org_feed == campaign_feed
    assert campaign_feed[-1][1] == {}
    assert CallAttempt.objects.get().outcome == "busy"
