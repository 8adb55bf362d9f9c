"""The SMS executor against the simulator: sends once, each dead-letter reason, rates,
credits, lost claims, delivery reports."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.services import campaign_start
from campaigns.sms import executor
from campaigns.sms.executor import messages_send
from campaigns.sms.tick import reports_reconcile, sms_tick, text_claims_release_stale
from config.events import campaign_stream, events_read
from messaging.models import Message
from messaging.providers import MessageRequest, get_provider
from orgs.models import Organization
from prospects.models import Prospect
from tests.campaigns.conftest import work_until
from tests.campaigns.sms.helpers import blast, sender_pool, zone_open_now
from tests.factories import SuppressionFactory, make_prospect
from tests.waiting import eventually

pytestmark = pytest.mark.usefixtures("empty_streams")
R = Message.FailureReason


@pytest.fixture
def org(org):
    org.sms_credits = 10_000
    org.save()
    return org


@pytest.fixture
def n():
    """A number in a zone whose texting window is open now, by its line: n(101). The executor
    sends at the real time, and a text outside its window is held back."""
    return zone_open_now().format


@pytest.fixture
def pool(org):
    return sender_pool(org, "+14156660001", "+12126660002")


def started(org, pool, *numbers, **fields):
    """A blast of `org` to `numbers`, started: its texts are queued and due."""
    campaign = blast(org, pool, **fields)
    for e164 in numbers:
        make_prospect(campaign, e164, first_name="Ann")
    campaign_start(campaign=campaign)
    return campaign


def send_all(campaign, rounds=20):
    total = {}
    for _ in range(rounds):
        counts = messages_send(campaign_id=campaign.id)
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
        if not counts["claimed"]:
            break
    return total


def by_to(campaign):
    return {m.to: m for m in Message.objects.filter(campaign=campaign)}


def test_a_blast_sends_each_text_once_and_charges_its_segments(
    org, pool, carrier, django_capture_on_commit_callbacks, n
):
    numbers = [n(i) for i in range(30)]
    campaign = started(org, pool, *numbers, frequency_cap_hours=0)
    with django_capture_on_commit_callbacks(execute=True):
        assert send_all(campaign)["sent"] == 30
    texts = by_to(campaign)
    assert all(m.status == "sent" and m.submitted is True and m.sid for m in texts.values())
    assert all(m.delivered is None for m in texts.values())  # no report yet
    assert set(Prospect.objects.filter(campaign=campaign).values_list("status", flat=True)) == {
        "sent"
    }
    org.refresh_from_db()
    assert org.sms_credits == 10_000 - 30
    to_counts = carrier.stats()["messages"]["by_to"]
    assert sorted(to_counts) == numbers and set(to_counts.values()) == {1}
    assert send_all(campaign) == {"claimed": 0}  # nothing is sent again
    types = [e["type"] for e in events_read(campaign_stream(campaign.id), count=1000)]
    assert types.count("campaign.sms.sent") == 30


def test_a_text_due_over_thirty_minutes_ago_is_stale(org, pool, carrier, n):
    campaign = started(org, pool, n(101))
    Message.objects.update(send_at=timezone.now() - timedelta(minutes=31))
    send_all(campaign)
    text = by_to(campaign)[n(101)]
    assert (text.status, text.failure_reason, text.submitted) == ("failed", R.STALE, False)
    assert Prospect.objects.get().status == "failed"
    assert carrier.stats()["messages"]["by_to"] == {}


def test_blocked_words_keep_a_text_from_going(org, pool, carrier, n):
    org.blocked_words = ["casino", "free money"]
    org.save()
    campaign = blast(org, pool, ("Win FREE  money now", 50), ("Our Casino opens", 50))
    campaign.variants.filter(name="A").update(body="Win free money now")
    make_prospect(campaign, n(101))
    make_prospect(campaign, n(102))
    campaign_start(campaign=campaign)
    send_all(campaign)
    reasons = {m.failure_reason for m in by_to(campaign).values()}
    assert reasons == {R.BLOCKED_CONTENT}
    details = {m.failure_detail for m in by_to(campaign).values()}
    assert details <= {
        "contains the blocked word 'casino'",
        "contains the blocked word 'free money'",
    }


def test_a_number_suppressed_after_the_start_is_not_texted(org, pool, carrier, n):
    campaign = started(org, pool, n(101), n(102))
    SuppressionFactory(organization=org, e164=n(102))
    send_all(campaign)
    texts = by_to(campaign)
    assert texts[n(101)].status == "sent"
    assert texts[n(102)].failure_reason == R.CONTACT_BLOCKED
    assert Prospect.objects.get(phones__e164=n(102)).status == "cancelled"
    assert list(carrier.stats()["messages"]["by_to"]) == [n(101)]


def test_a_refused_number_is_a_provider_error_and_its_credit_comes_back(org, pool, carrier, n):
    carrier.scenario(landlines=[n(102)])
    campaign = started(org, pool, n(101), n(102))
    send_all(campaign)
    text = by_to(campaign)[n(102)]
    assert (text.failure_reason, text.error_code, text.submitted) == (
        R.PROVIDER_ERROR,
        21614,
        False,
    )
    org.refresh_from_db()
    assert org.sms_credits == 10_000 - 1


def test_a_carrier_out_of_reach_is_tried_again_then_given_up(org, pool, carrier, settings, n):
    settings.SMS_PROVIDER_MAX_TRIES = 3
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"  # nothing listens: refused at once
    get_provider.cache_clear()
    campaign = started(org, pool, n(101))
    for tries in (1, 2):
        messages_send(campaign_id=campaign.id)
        text = Message.objects.get()
        assert (text.status, text.tries) == ("queued", tries)
        Message.objects.update(send_at=timezone.now())  # its backoff is over
    messages_send(campaign_id=campaign.id)
    text = Message.objects.get()
    assert (text.status, text.failure_reason) == ("failed", R.PROVIDER_ERROR)
    assert "unreachable" in text.failure_detail
    org.refresh_from_db()
    assert org.sms_credits == 10_000  # never sent: every try refunded


def test_no_answer_from_the_carrier_is_no_response_and_never_resent(
    org, pool, carrier, settings, n
):
    settings.TWILIO_HTTP_TIMEOUT = 0.3
    get_provider.cache_clear()
    carrier.scenario(api_latency_ms=[1500, 1500])
    campaign = started(org, pool, n(101))
    messages_send(campaign_id=campaign.id)
    text = Message.objects.get()
    assert (text.status, text.failure_reason, text.submitted) == ("failed", R.NO_RESPONSE, None)
    assert send_all(campaign) == {"claimed": 0}
    # The carrier takes it once its latency is over: waited for, so that it lands in this test
    # and not in the carrier's counts of the next one.
    eventually(
        lambda: carrier.stats()["messages"]["by_to"] == {n(101): 1},
        timeout=5,
        what="the late text at the carrier, once",
    )


def test_the_pool_rate_holds_texts_back_by_requeueing_then_times_them_out(
    org, carrier, settings, n
):
    pool = sender_pool(org, "+14156660001", rate_per_minute=60)  # one a second
    campaign = started(org, pool, n(101), n(102), n(103))
    Message.objects.update(send_at=timezone.now())  # all due at once, beyond the rate
    counts = messages_send(campaign_id=campaign.id)
    assert (counts["sent"], counts["waiting"]) == (1, 2)
    waiting = Message.objects.filter(status="queued")
    assert {m.wait for m in waiting} == {"rate_limit"}
    assert all(m.send_at > timezone.now() - timedelta(seconds=1) for m in waiting)
    settings.SMS_RATE_LIMIT_MAX_WAIT_SECONDS = 60
    waiting.update(send_at=timezone.now(), waiting_since=timezone.now() - timedelta(minutes=2))
    from campaigns.sms.rate import pool_key
    from config.redis import get_redis

    get_redis().delete(pool_key(pool.id))
    messages_send(campaign_id=campaign.id)
    reasons = sorted(Message.objects.values_list("failure_reason", flat=True))
    assert reasons.count(R.RATE_LIMIT_TIMEOUT) >= 1


def test_without_credit_a_text_waits_then_is_dead_lettered_as_billing(org, pool, carrier, n):
    Organization.objects.filter(pk=org.pk).update(sms_credits=1)
    campaign = started(org, pool, n(101), n(102))
    counts = messages_send(campaign_id=campaign.id)
    assert (counts["sent"], counts["waiting"]) == (1, 1)
    text = Message.objects.get(status="queued")
    assert text.wait == "billing"
    assert text.send_at >= timezone.now() + timedelta(minutes=4)
    Message.objects.filter(pk=text.pk).update(
        send_at=timezone.now(), waiting_since=timezone.now() - timedelta(minutes=61)
    )
    messages_send(campaign_id=campaign.id)
    text.refresh_from_db()
    assert (text.status, text.failure_reason) == ("failed", R.BILLING)


@pytest.mark.django_db(transaction=True)
def test_two_lanes_at_once_never_send_a_text_twice(org, pool, carrier, n):
    numbers = [n(i) for i in range(120)]
    campaign = started(org, pool, *numbers, frequency_cap_hours=0)

    def lane():
        try:
            send_all(campaign, rounds=40)
        finally:
            connection.close()

    threads = [threading.Thread(target=lane) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Message.objects.filter(status="sent").count() == 120
    assert set(carrier.stats()["messages"]["by_to"].values()) == {1}


def test_a_lost_claim_is_queued_again_or_found_at_the_carrier(org, pool, carrier, n):
    campaign = started(org, pool, n(101), n(102), n(103))
    long_ago = timezone.now() - timedelta(minutes=11)
    never_sent, sent_unrecorded, not_at_carrier = Message.objects.order_by("to")
    Message.objects.update(status="sending", claimed_by="gone", claimed_at=long_ago)
    Message.objects.filter(pk__in=[sent_unrecorded.pk, not_at_carrier.pk]).update(
        submitting_at=long_ago
    )
    answer = get_provider().send_messages(
        [MessageRequest(to=sent_unrecorded.to, from_=sent_unrecorded.from_number,
                        body=sent_unrecorded.body, status_callback="")]
    )[0]  # fmt: skip
    assert text_claims_release_stale() == {"released": 1, "found_at_carrier": 1, "requeued": 1}
    texts = {m.pk: m for m in Message.objects.all()}
    assert texts[never_sent.pk].status == "queued"
    found = texts[sent_unrecorded.pk]
    assert (found.sid, found.submitted) == (answer.sid, True)
    assert found.status in ("sent", "delivered", "failed")  # as far as the carrier has got
    assert texts[not_at_carrier.pk].status == "queued"
    send_all(campaign)
    assert carrier.stats()["messages"]["by_to"] == {
        n(101): 1, n(102): 1, n(103): 1
    }  # fmt: skip


def test_a_batch_that_stalled_past_the_claim_timeout_sends_none_of_its_texts_again(
    org, pool, carrier, n
):
    """A worker claims a batch, then stalls (a long pause) for longer than the claim timeout:
    the sweep releases the claim and another worker sends the texts. When the first one
    wakes up it sends none of them a second time, and charges for none."""
    campaign = started(org, pool, n(101), n(102))
    now = timezone.now()
    stalled = executor._claim(campaign.id, 10, "stalled", now)
    assert len(stalled) == 2
    assert text_claims_release_stale(now=now + timedelta(minutes=11))["released"] == 2
    assert send_all(campaign)["sent"] == 2
    woke = executor._send_batch(Campaign.objects.get(pk=campaign.pk), stalled, "stalled", now)
    assert woke["sent"] == 0
    assert carrier.stats()["messages"]["by_to"] == {n(101): 1, n(102): 1}
    org.refresh_from_db()
    assert org.sms_credits == 10_000 - 2
    assert {m.status for m in by_to(campaign).values()} == {"sent"}


def _lost_while_submitting(message) -> None:
    """`message` as a worker that died while putting it to the carrier left it: claimed long
    ago, marked as being sent, paid for."""
    long_ago = timezone.now() - timedelta(minutes=11)
    Message.objects.filter(pk=message.pk).update(
        status="sending", claimed_by="gone", claimed_at=long_ago, submitting_at=long_ago
    )
    Organization.objects.filter(pk=message.organization_id).update(
        sms_credits=F("sms_credits") - message.segments
    )


def test_a_lost_claim_the_carrier_never_had_is_paid_for_once(org, pool, carrier, n):
    campaign = started(org, pool, n(101))
    _lost_while_submitting(Message.objects.get())
    assert text_claims_release_stale()["requeued"] == 1
    org.refresh_from_db()
    assert org.sms_credits == 10_000  # its segment came back with the claim
    send_all(campaign)
    org.refresh_from_db()
    assert (org.sms_credits, Message.objects.get().status) == (10_000 - 1, "sent")


def test_a_lost_claim_found_at_the_carrier_takes_the_report_it_missed(org, pool, carrier, n):
    carrier.scenario(to_suffix={"01": ["sms_delivered"]})
    campaign = started(org, pool, n(101))
    text = Message.objects.get()
    _lost_while_submitting(text)
    get_provider().send_messages(
        [MessageRequest(to=text.to, from_=text.from_number, body=text.body,
                        status_callback="")]
    )  # fmt: skip  # its reports went nowhere (or came before the sweep and were given up on)
    eventually(lambda: carrier.stats()["messages"]["by_status"], what="the text delivered")
    assert text_claims_release_stale()["found_at_carrier"] == 1
    text.refresh_from_db()
    assert (text.status, text.delivered, text.submitted) == ("delivered", True, True)
    assert Prospect.objects.get().status == "delivered"
    sms_tick()
    campaign.refresh_from_db()
    assert campaign.status == "completed"


def test_delivery_reports_settle_texts_and_prospects_and_never_regress(
    org, pool, carrier, callbacks, django_capture_on_commit_callbacks, n
):
    carrier.scenario(to_suffix={"01": ["sms_delivered"], "02": ["sms_undelivered"]})
    campaign = started(org, pool, n(101), n(102))
    send_all(campaign)
    with django_capture_on_commit_callbacks(execute=True):
        work_until(lambda: not Message.objects.filter(status="sent").exists(), what="reports")
    texts = by_to(campaign)
    ok, bad = texts[n(101)], texts[n(102)]
    assert (ok.status, ok.delivered, ok.carrier_status) == ("delivered", True, "delivered")
    assert ok.delivered_at is not None
    assert (bad.status, bad.delivered, bad.failure_reason) == ("failed", False, R.UNDELIVERED)
    assert bad.error_code is not None
    statuses = dict(Prospect.objects.values_list("phones__e164", "status"))
    assert statuses == {n(101): "delivered", n(102): "failed"}
    types = [e["type"] for e in events_read(campaign_stream(campaign.id), count=100)]
    assert types.count("campaign.sms.delivered") == 1
    assert types.count("campaign.sms.delivery_failed") == 1
    sms_tick()
    campaign.refresh_from_db()
    assert campaign.status == "completed"


def test_the_sms_stats_endpoint_counts_texts_dead_letters_and_clicks(
    api, other_api, org, pool, carrier, client, n
):
    org.blocked_words = ["casino"]
    org.save()
    campaign = blast(org, pool, ("See https://shop.example.com/a", 50), ("Casino night", 50))
    for i in range(20):
        make_prospect(campaign, n(i))
    campaign_start(campaign=campaign)
    send_all(campaign)
    link = campaign.short_links.first()
    assert client.get(f"/l/{link.code}", HTTP_USER_AGENT="test").status_code == 302
    body = api.get(f"/api/v1/campaigns/{campaign.pk}/sms-stats/").json()
    texts = Message.objects.filter(campaign=campaign)
    blocked = texts.filter(failure_reason=R.BLOCKED_CONTENT).count()
    assert blocked > 0
    assert body["texts"] == {"sent": 20 - blocked, "failed": blocked}
    assert body["dead_letters"] == {R.BLOCKED_CONTENT: blocked}
    assert body["submitted"] == body["segments"] == 20 - blocked
    assert body["clicks"] == {"clicks": 1, "links_clicked": 1, "messages_clicked": 1}
    assert other_api.get(f"/api/v1/campaigns/{campaign.pk}/sms-stats/").status_code == 404


def test_the_sms_stats_of_a_voice_campaign_is_409(api, campaign):
    response = api.get(f"/api/v1/campaigns/{campaign.pk}/sms-stats/")
    assert response.status_code == 409 and response.json()["code"] == "not_sms"


def _carrier_final(carrier, count: int):
    def check():
        by_status = carrier.stats()["messages"]["by_status"]
        return sum(by_status.values()) >= count and by_status

    return check


def test_texts_whose_reports_were_lost_are_settled_by_asking_the_carrier(org, pool, carrier, n):
    carrier.scenario(to_suffix={"01": ["sms_delivered"], "02": ["sms_undelivered"]})
    campaign = started(org, pool, n(101), n(102))
    assert send_all(campaign)["sent"] == 2  # nothing listens: both reports are lost
    eventually(_carrier_final(carrier, 2), what="both texts final at the carrier")
    assert reports_reconcile()["reports_asked"] == 0  # not late yet
    sms_tick()
    campaign.refresh_from_db()
    assert campaign.status == "dialing"  # waiting for reports that will never come

    later = timezone.now() + timedelta(minutes=16)
    assert reports_reconcile(now=later) == {"reports_asked": 2, "reports_final": 2}
    texts = by_to(campaign)
    delivered, undelivered = texts[n(101)], texts[n(102)]
    assert (delivered.status, delivered.delivered) == ("delivered", True)
    assert (undelivered.status, undelivered.delivered, undelivered.failure_reason) == (
        "failed", False, R.UNDELIVERED
    )  # fmt: skip
    assert undelivered.error_code
    assert set(Prospect.objects.values_list("status", flat=True)) == {"delivered", "failed"}
    sms_tick()
    campaign.refresh_from_db()
    assert campaign.status == "completed"


def test_a_text_the_carrier_still_holds_is_asked_about_again_a_timeout_later(org, pool, carrier, n):
    carrier.scenario(
        time_scale=1.0, sms_sent_seconds=[0.0, 0.0], sms_delivered_seconds=[3600.0, 3600.0]
    )
    campaign = started(org, pool, n(101))
    send_all(campaign)
    later = timezone.now() + timedelta(minutes=16)
    assert reports_reconcile(now=later) == {"reports_asked": 1, "reports_final": 0}
    text = Message.objects.get()
    assert (text.status, text.delivered, text.updated_at) == ("sent", None, later)
    assert reports_reconcile(now=later + timedelta(minutes=5))["reports_asked"] == 0
    assert reports_reconcile(now=later + timedelta(minutes=16))["reports_asked"] == 1


def test_a_sid_the_carrier_does_not_know_is_left_for_the_next_sweep(org, pool, carrier, n):
    campaign = started(org, pool, n(101))
    send_all(campaign)
    Message.objects.update(sid="SM" + "0" * 32)
    later = timezone.now() + timedelta(minutes=16)
    assert reports_reconcile(now=later) == {"reports_asked": 0, "reports_final": 0}
    assert Message.objects.get().status == "sent"


def _zone_closed_now(number: str) -> str:
    """An explicit zone in which `number`, texted now, would be outside its window."""
    from prospects import windows

    zones = ("Asia/Tokyo", "Europe/London", "America/New_York", "Pacific/Honolulu")
    now = timezone.now()
    return next(
        zone
        for zone in zones
        if not windows.check(number, now, channel="sms", explicit_tz=zone).allowed
        and not windows.check(number, now + timedelta(minutes=10), channel="sms",
                              explicit_tz=zone).allowed
    )  # fmt: skip


def test_a_text_due_outside_its_prospects_own_zone_waits_for_its_window(org, pool, carrier, n):
    """The executor re-checks the window with the prospect's explicit zone, as the start did:
    a text that became due (after waiting for its rate) when that zone's window had closed
    goes back to the queue until it opens."""
    number = n(101)
    zone = _zone_closed_now(number)
    campaign = blast(org, pool)
    make_prospect(campaign, number, first_name="Ann", timezone=zone)
    campaign_start(campaign=campaign)
    Message.objects.update(send_at=timezone.now())  # due now, as after a rate-limit wait
    counts = send_all(campaign, rounds=1)
    assert counts.get("sent", 0) == 0 and counts["waiting"] == 1
    text = Message.objects.get()
    assert (text.status, text.sid) == ("queued", None)
    assert text.send_at > timezone.now()
    assert carrier.stats()["messages"]["by_to"] == {}
