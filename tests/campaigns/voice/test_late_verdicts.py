"""An AMD verdict that trails the call's completion, through the simulated carrier and the
live webhooks: settling waits for it a little; a later one corrects the outcome, and the
prospect follows unless it has moved on."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import CallAttempt, Campaign
from campaigns.voice.calls import call_place
from campaigns.voice.late_verdicts import attempts_correct_late_verdicts
from campaigns.voice.outcomes import attempts_settle
from config.events import campaign_stream, events_read, org_stream
from messaging.models import CarrierCall
from messaging.services import inbox_apply_batch
from prospects.models import Prospect
from prospects.services import suppression_add
from tests.campaigns.conftest import NOON, dial, settled, work_until
from tests.waiting import eventually

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("callbacks", "dialing_streams"),
]


def machine(carrier, *, verdict_after_ms: int, seconds: int = 30):
    """Machines that talk `seconds` and whose verdict comes `verdict_after_ms` (real) late:
    the call is over at once (time_scale 0), the verdict after its `completed`."""
    carrier.scenario(
        call_outcomes={"machine": 1},
        call_durations={"machine": [seconds, seconds]},
        amd_verdict_delay_ms=[verdict_after_ms, verdict_after_ms],
    )


def call_events(campaign):
    return [
        (e["type"], e["data"])
        for e in events_read(campaign_stream(campaign.pk))
        if e["type"].startswith("campaign.call.") and e["type"] != "campaign.call.initiated"
    ]


def test_a_verdict_within_the_grace_is_waited_for(dialing, carrier):
    machine(carrier, verdict_after_ms=500)
    (attempt,) = dial(dialing, "4155550101")

    attempt = work_until(settled(attempt))

    assert (attempt.outcome, attempt.answered_by) == ("voicemail", "machine_start")
    [(kind, data)] = call_events(dialing)
    assert kind == "campaign.call.voicemail" and "corrected" not in data


def test_without_a_verdict_the_call_is_settled_by_duration_after_the_grace(
    dialing, carrier, settings
):
    machine(carrier, verdict_after_ms=60_000)  # not within this test
    (attempt,) = dial(dialing, "4155550101")
    completed = CarrierCall.objects.filter(sid=attempt.sid, status="completed")
    eventually(lambda: inbox_apply_batch() is not None and completed.exists())

    assert attempts_settle() == {}  # waiting for the verdict
    later = timezone.now() + timedelta(seconds=settings.DIALER_AMD_GRACE_SECONDS + 1)
    assert attempts_settle(now=later) == {"human_connected": 1}  # as the sweep does
    assert Prospect.objects.get().status == "human_connected"


@pytest.mark.parametrize(
    ("drop", "verdicts", "drop_status"),
    [
        ("", {"machine_start"}, ""),
        (
            "Hi, call us back.",
            {"machine_end_beep", "machine_end_silence", "machine_end_other"},
            "failed",
        ),
    ],
    ids=["no drop", "drop"],
)
def test_a_verdict_after_the_grace_corrects_the_outcome_and_the_prospect_follows(
    dialing, carrier, settings, drop, verdicts, drop_status
):
    settings.DIALER_AMD_GRACE_SECONDS = 0
    Campaign.objects.filter(pk=dialing.pk).update(voicemail_drop=drop)
    machine(carrier, verdict_after_ms=2000)
    (attempt,) = dial(dialing, "4155550101")
    assert work_until(settled(attempt)).outcome == "human_connected"  # no verdict yet
    assert Prospect.objects.get().status == "human_connected"

    corrected = work_until(
        lambda: CallAttempt.objects.filter(pk=attempt.pk, outcome="voicemail").first(),
        what="the late verdict corrected the attempt",
    )

    assert corrected.answered_by in verdicts and corrected.drop_status == drop_status
    prospect = Prospect.objects.get()
    assert (prospect.status, prospect.last_outcome) == ("queued", "voicemail")  # retried
    assert prospect.next_attempt_at > timezone.now() + timedelta(minutes=59)
    [human, (kind, data)] = call_events(dialing)
    assert human[0] == "campaign.call.human_connected"
    assert kind == "campaign.call.voicemail"
    assert data["corrected"] is True and data["previous_outcome"] == "human_connected"
    assert data["prospect_followed"] is True and data["retry"] is True
    assert data["answered_by"] == corrected.answered_by
    assert data["drop"] == (drop_status or "none")
    assert attempts_correct_late_verdicts() == 0  # once


def test_a_prospect_that_moved_on_is_not_touched(dialing, carrier, settings, org):
    settings.DIALER_AMD_GRACE_SECONDS = 0
    Campaign.objects.filter(pk=dialing.pk).update(
        retry_outcomes=["no_answer", "busy", "human_hangup", "voicemail"]
    )
    machine(carrier, verdict_after_ms=2000, seconds=4)  # short: a person who hung up
    (attempt,) = dial(dialing, "4155550101")
    assert work_until(settled(attempt)).outcome == "human_hangup"
    assert Prospect.objects.get().status == "queued"  # human_hangup is retried here
    suppression_add(org=org, e164="+14155550101", reason="stop")  # the person texted STOP
    before = Prospect.objects.values().get()

    work_until(lambda: CallAttempt.objects.filter(pk=attempt.pk, outcome="voicemail").exists())

    assert Prospect.objects.values().get() == before
    assert before["status"] == "cancelled"
    (_, data) = call_events(dialing)[-1]
    assert data["corrected"] is True and data["prospect_followed"] is False
    assert data["retry"] is False


def test_a_one_off_call_is_corrected_on_its_orgs_stream(dialing, org, carrier, settings):
    settings.DIALER_AMD_GRACE_SECONDS = 0
    machine(carrier, verdict_after_ms=2000)
    attempt, _ = call_place(org=org, to="+14155550101", twiml="<Response/>", now=NOON)
    assert attempt.machine_detection == "Enable"
    assert work_until(settled(attempt)).outcome == "human_connected"

    corrected = work_until(
        lambda: CallAttempt.objects.filter(pk=attempt.pk, outcome="voicemail").first()
    )

    assert corrected.answered_by == "machine_start"
    types = [e["type"] for e in events_read(org_stream(org.pk))]
    assert types == ["call.initiated", "call.human_connected", "call.voicemail"]
    data = events_read(org_stream(org.pk))[-1]["data"]
    assert (data["call"], data["corrected"], data["previous_outcome"]) == (
        attempt.pk,
        True,
        "human_connected",
    )
