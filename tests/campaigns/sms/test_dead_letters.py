"""messages_retry and dead_letters_summary: what is queued again, what is skipped and why."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.sms.dead_letters import RETRYABLE_REASONS, dead_letters_summary, messages_retry
from messaging.models import Message
from prospects.models import Prospect
from tests.factories import CampaignFactory, MessageFactory, ProspectFactory, make_dead_letter

R = Message.FailureReason
LONG_AGO = timezone.now() - timedelta(days=2)


def dead(campaign, reason: str, **fields) -> Message:
    """A dead letter with everything a retry must clear: waits, tries, its claim."""
    values = {
        "error_code": 30007 if reason == R.UNDELIVERED else None,
        "send_at": LONG_AGO,
        "wait": "billing" if reason == R.BILLING else "",
        "waiting_since": LONG_AGO if reason == R.BILLING else None,
        "tries": 3,
        "claimed_by": "worker-1",
        "claimed_at": LONG_AGO,
        "submitting_at": LONG_AGO if reason == R.NO_RESPONSE else None,
        "updated_at": LONG_AGO,
    }
    return make_dead_letter(campaign, reason, **(values | fields))


def state(message: Message) -> tuple:
    message.refresh_from_db()
    return message.status, message.failure_reason, message.prospect.status


def test_retry_by_ids_queues_each_retryable_one_as_a_fresh_text(org, sms):
    messages = [dead(sms, reason) for reason in RETRYABLE_REASONS]
    now = timezone.now()

    result = messages_retry(org=org, ids=[m.pk for m in messages], now=now)

    assert (result.requeued, result.skipped) == (len(RETRYABLE_REASONS), 0)
    for m in messages:
        m.refresh_from_db()
        assert (m.status, m.failure_reason, m.failure_detail, m.error_code) == (
            "queued",
            "",
            "",
            None,
        )
        assert (m.wait, m.waiting_since, m.tries) == ("", None, 0)
        assert (m.claimed_by, m.claimed_at, m.submitting_at) == ("", None, None)
        assert (m.submitted, m.delivered) == (None, None)
        assert m.send_at == now and m.updated_at == now
        assert m.prospect.status == "sending"


def test_retry_by_ids_skips_and_never_touches_what_cannot_be_sent_again(
    org, other_org, sms, other_sms
):
    retried = dead(sms, R.BILLING)
    undelivered = dead(sms, R.UNDELIVERED, sid="SM" + "1" * 32)
    taken = dead(sms, R.PROVIDER_ERROR, sid="SM" + "2" * 32)  # the carrier has it
    queued = MessageFactory(campaign=sms, prospect=ProspectFactory(campaign=sms, status="sending"))
    theirs = dead(other_sms, R.BILLING)
    untouched = [undelivered, taken, queued, theirs]
    before = {m.pk: Message.objects.values().get(pk=m.pk) for m in untouched}
    prospects_before = {m.pk: m.prospect.status for m in untouched}
    ids = [retried.pk, *(m.pk for m in untouched), 999_999, retried.pk]

    result = messages_retry(org=org, ids=ids, now=timezone.now())

    assert (result.requeued, result.skipped) == (1, 5)
    assert state(retried) == ("queued", "", "sending")
    for m in untouched:
        assert Message.objects.values().get(pk=m.pk) == before[m.pk]
        assert Prospect.objects.get(pk=m.prospect_id).status == prospects_before[m.pk]


def test_retry_by_reason_and_campaign(org, sms):
    other = CampaignFactory(organization=org, channel="sms", sms_mode="blast", status="dialing")
    stale = [dead(sms, R.STALE), dead(sms, R.STALE)]
    billing = dead(sms, R.BILLING)
    elsewhere = dead(other, R.STALE)

    result = messages_retry(org=org, failure_reason=R.STALE, campaign_id=sms.pk, now=timezone.now())

    assert (result.requeued, result.skipped) == (2, 0)
    assert [state(m) for m in stale] == [("queued", "", "sending")] * 2
    assert state(billing) == ("failed", "BILLING", "failed")
    assert state(elsewhere) == ("failed", "STALE", "failed")


def test_retry_by_campaign_queues_the_retryable_ones_and_counts_the_rest(org, sms):
    retryable = [dead(sms, R.STALE), dead(sms, R.CONTACT_BLOCKED)]
    undelivered = dead(sms, R.UNDELIVERED, sid="SM" + "3" * 32)

    result = messages_retry(org=org, campaign_id=sms.pk, now=timezone.now())

    assert (result.requeued, result.skipped) == (2, 1)
    assert [state(m)[0] for m in retryable] == ["queued", "queued"]
    assert state(undelivered) == ("failed", "UNDELIVERED", "failed")


def test_retry_by_reason_never_reaches_another_org(org, other_org, sms, other_sms):
    ours, theirs = dead(sms, R.BILLING), dead(other_sms, R.BILLING)
    result = messages_retry(org=other_org, failure_reason=R.BILLING, now=timezone.now())
    assert (result.requeued, result.skipped) == (1, 0)
    assert state(theirs)[0] == "queued" and state(ours)[0] == "failed"


def test_undelivered_is_never_retried_by_reason(org, sms):
    message = dead(sms, R.UNDELIVERED)
    with pytest.raises(ValidationError) as exc:
        messages_retry(org=org, failure_reason=R.UNDELIVERED, now=timezone.now())
    assert "the carrier took them" in exc.value.message_dict["failure_reason"][0]
    assert state(message)[0] == "failed"


def test_retry_without_a_choice_is_a_programming_error(org):
    with pytest.raises(ValueError):
        messages_retry(org=org, now=timezone.now())


def test_texts_of_a_cancelled_campaign_are_skipped(org, sms):
    message = dead(sms, R.STALE)
    Campaign.objects.filter(pk=sms.pk).update(status="cancelled")
    result = messages_retry(org=org, ids=[message.pk], now=timezone.now())
    assert (result.requeued, result.skipped) == (0, 1)
    assert state(message)[0] == "failed"


def test_a_completed_campaign_dials_again_to_send_what_was_queued(org, sms):
    message = dead(sms, R.BILLING)
    Campaign.objects.filter(pk=sms.pk).update(status="completed", finished_at=LONG_AGO)
    paused = CampaignFactory(
        organization=org, channel="sms", status="paused", pause_reason="manual"
    )
    waiting = dead(paused, R.BILLING)

    messages_retry(org=org, ids=[message.pk, waiting.pk], now=timezone.now())

    sms.refresh_from_db()
    assert (sms.status, sms.finished_at) == ("dialing", None)
    assert Campaign.objects.get(pk=paused.pk).status == "paused"  # sends once resumed


def test_a_text_without_a_prospect_is_retried_too(org, sms):
    message = dead(sms, R.PROVIDER_ERROR, prospect=None)
    assert messages_retry(org=org, ids=[message.pk], now=timezone.now()).requeued == 1


# --- The summary -------------------------------------------------------------------------------


def test_the_summary_counts_by_reason_and_campaign(org, other_org, sms, other_sms):
    other = CampaignFactory(organization=org, channel="sms")
    for campaign, reason in [
        (sms, R.STALE),
        (sms, R.STALE),
        (sms, R.UNDELIVERED),
        (other, R.BILLING),
    ]:
        dead(campaign, reason)
    dead(other_sms, R.STALE)
    MessageFactory(campaign=sms)  # queued: not a dead letter

    summary = dead_letters_summary(org=org)

    assert (summary.total, summary.retryable) == (4, 3)
    assert summary.by_reason == {r: 0 for r in R.values if r} | {
        "STALE": 2,
        "UNDELIVERED": 1,
        "BILLING": 1,
    }
    assert summary.by_campaign == [
        {"campaign": sms.pk, "failure_reason": "STALE", "count": 2},
        {"campaign": sms.pk, "failure_reason": "UNDELIVERED", "count": 1},
        {"campaign": other.pk, "failure_reason": "BILLING", "count": 1},
    ]
    one = dead_letters_summary(org=org, campaign_id=other.pk)
    assert (one.total, one.by_campaign) == (1, [summary.by_campaign[2]])
