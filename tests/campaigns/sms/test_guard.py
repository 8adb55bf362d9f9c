"""The SMS guards: a campaign whose recent sends fail too often pauses, with its event and an
alert; a billing stop alerts the organization once per window."""

import itertools
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.sms.guard import (
    billing_dedupe_key,
    billing_stop_alert,
    campaign_error_rate_check,
    campaign_error_rate_window,
)
from config.events import campaign_stream, events_read, org_stream
from config.redis import get_redis
from messaging.models import Message
from orgs.models import AlertDelivery, Organization
from tests.campaigns.conftest import put_in
from tests.factories import MessageFactory
from tests.waiting import in_thread

URL = "https://hooks.test/outbound"
PRE_CARRIER = ["STALE", "BLOCKED_CONTENT", "CONTACT_BLOCKED", "BILLING", "RATE_LIMIT_TIMEOUT"]


@pytest.fixture
def texts():
    """texts(campaign, n, status, reason=""): n texts that ended so, each later than the last."""
    clock = itertools.count()
    start = timezone.now() - timedelta(hours=1)

    def make(campaign, n, status, reason=""):
        rows = MessageFactory.build_batch(
            n, campaign=campaign, status=status, failure_reason=reason
        )
        for row in rows:
            row.updated_at = start + timedelta(seconds=next(clock))
        Message.objects.bulk_create(rows)

    return make


@pytest.fixture
def sms(campaign, other_campaign):
    """`campaign` (and the other org's) as dialing SMS campaigns whose orgs take alerts."""
    Organization.objects.update(alert_webhook_url=URL)
    Campaign.objects.update(channel="sms", sms_mode="blast", status="dialing")
    campaign.refresh_from_db()
    return campaign


def status_of(campaign) -> tuple[str, str]:
    campaign.refresh_from_db()
    return campaign.status, campaign.pause_reason


def check(campaign, capture) -> bool:
    with capture(execute=True):
        return campaign_error_rate_check(campaign_id=campaign.pk)


# --- The error rate --------------------------------------------------------------------------


def test_exactly_at_the_threshold_does_not_pause(
    sms, texts, empty_streams, django_capture_on_commit_callbacks
):
    texts(sms, 160, "delivered")
    texts(sms, 40, "failed", "PROVIDER_ERROR")  # 20 %

    assert check(sms, django_capture_on_commit_callbacks) is False

    assert status_of(sms) == ("dialing", "")
    assert events_read(campaign_stream(sms.pk)) == []
    assert not AlertDelivery.objects.exists()


def test_just_above_the_threshold_pauses_with_its_event_and_alert(
    sms, other_campaign, texts, empty_streams, django_capture_on_commit_callbacks
):
    texts(sms, 100, "delivered")
    texts(sms, 59, "sent")
    for reason, n in [("PROVIDER_ERROR", 20), ("NO_RESPONSE", 10), ("UNDELIVERED", 10), ("", 1)]:
        texts(sms, n, "failed", reason)  # 41 of 200: 20.5 %

    assert check(sms, django_capture_on_commit_callbacks) is True

    assert status_of(sms) == ("paused", "error_rate")
    details = {"error_rate": 0.205, "failed": 41, "sends": 200, "window": 200, "threshold": 0.2}
    (event,) = events_read(campaign_stream(sms.pk))
    assert (event["type"], event["data"]) == ("campaign.paused.error_rate", details)
    assert [e["type"] for e in events_read(org_stream(sms.organization_id))] == [event["type"]]
    assert events_read(org_stream(other_campaign.organization_id)) == []
    (alert,) = AlertDelivery.objects.all()
    assert (alert.organization_id, alert.event) == (sms.organization_id, event["type"])
    assert alert.payload["data"] == {
        "campaign_id": sms.pk,
        "campaign_name": sms.name,
        "reason": "error_rate",
        **details,
    }
    assert status_of(other_campaign) == ("dialing", "")


def test_a_paused_campaign_is_not_paused_or_alerted_again(
    sms, texts, django_capture_on_commit_callbacks
):
    texts(sms, 100, "failed", "PROVIDER_ERROR")
    assert check(sms, django_capture_on_commit_callbacks) is True
    assert check(sms, django_capture_on_commit_callbacks) is False
    assert AlertDelivery.objects.count() == 1


@pytest.mark.parametrize("failed, paused", [(49, False), (50, True)])
def test_fewer_sends_than_the_minimum_never_pause(sms, texts, failed, paused):
    texts(sms, failed, "failed", "NO_RESPONSE")  # every one of them failed
    assert campaign_error_rate_check(campaign_id=sms.pk) is paused
    assert status_of(sms)[0] == ("paused" if paused else "dialing")


def test_failures_before_the_carrier_are_not_sends(sms, texts):
    texts(sms, 60, "delivered")
    texts(sms, 10, "failed", "PROVIDER_ERROR")  # 10 of 70 sends: 14 %
    for reason in PRE_CARRIER:
        texts(sms, 30, "failed", reason)
    for status in ("queued", "sending", "cancelled"):
        texts(sms, 30, status)

    assert campaign_error_rate_check(campaign_id=sms.pk) is False
    assert status_of(sms) == ("dialing", "")


def test_pre_carrier_failures_do_not_hide_older_send_failures(sms, texts):
    texts(sms, 100, "delivered")
    texts(sms, 50, "failed", "UNDELIVERED")  # 50 of 150 sends: 33 %
    texts(sms, 500, "failed", "BILLING")  # newer, and more than a window of them

    assert campaign_error_rate_check(campaign_id=sms.pk) is True


def test_only_the_newest_sends_count(sms, texts, settings):
    settings.SMS_ERROR_RATE_WINDOW = 100
    texts(sms, 100, "failed", "PROVIDER_ERROR")  # older than the window
    texts(sms, 100, "sent")
    assert campaign_error_rate_check(campaign_id=sms.pk) is False

    texts(sms, 21, "failed", "PROVIDER_ERROR")  # the newest 100: 21 failed
    assert campaign_error_rate_check(campaign_id=sms.pk) is True


def test_a_text_that_fails_late_counts_in_its_place_in_sending_order(sms, texts):
    texts(sms, 100, "sent")
    texts(sms, 100, "delivered")
    # The oldest 60 sent texts fail late (undelivered): they are among the newest sends now.
    first = Message.objects.filter(campaign=sms).order_by("id").values_list("id", flat=True)[:60]
    Message.objects.filter(id__in=list(first)).update(
        status="failed", failure_reason="UNDELIVERED", updated_at=timezone.now()
    )
    assert campaign_error_rate_check(campaign_id=sms.pk) is True


def test_late_reports_for_old_texts_do_not_crowd_the_newest_sends_out(sms, texts):
    """The window is the last sends in sending order: late delivery reports for older texts
    do not push the newest sends out of it."""
    texts(sms, 300, "delivered")
    oldest = Message.objects.filter(campaign=sms).order_by("id").values_list("id", flat=True)
    Message.objects.filter(id__in=list(oldest[:60])).update(
        status="failed", failure_reason="UNDELIVERED", updated_at=timezone.now()
    )
    assert campaign_error_rate_window(campaign_id=sms.pk, size=200) == (200, 0)
    assert campaign_error_rate_check(campaign_id=sms.pk) is False


@pytest.mark.parametrize("status", ["created", "paused", "completed", "cancelled"])
def test_a_campaign_that_is_not_dialing_is_left_alone(sms, texts, status):
    put_in(sms, status)
    before = status_of(sms)
    texts(sms, 100, "failed", "PROVIDER_ERROR")

    assert campaign_error_rate_check(campaign_id=sms.pk) is False

    assert status_of(sms) == before
    assert not AlertDelivery.objects.exists()


def test_a_missing_campaign_is_a_no_op(db):
    assert campaign_error_rate_check(campaign_id=10**9) is False


def test_another_campaigns_failures_do_not_count(sms, other_campaign, texts):
    texts(sms, 100, "delivered")
    texts(other_campaign, 100, "failed", "PROVIDER_ERROR")

    assert campaign_error_rate_check(campaign_id=sms.pk) is False
    assert campaign_error_rate_check(campaign_id=other_campaign.pk) is True

    assert status_of(sms) == ("dialing", "")
    assert list(AlertDelivery.objects.values_list("organization_id", flat=True)) == [
        other_campaign.organization_id
    ]


def test_a_check_that_pauses_nothing_costs_two_queries(
    sms, texts, django_assert_num_queries, settings
):
    texts(sms, 200, "delivered")
    with django_assert_num_queries(2):  # the campaign, the window
        assert campaign_error_rate_check(campaign_id=sms.pk) is False


@pytest.mark.django_db(transaction=True)
def test_of_simultaneous_checks_one_pauses(sms, texts, empty_streams):
    texts(sms, 100, "failed", "PROVIDER_ERROR")
    n, outcome = 4, {}
    barrier = threading.Barrier(n)
    threads = [
        in_thread(lambda: campaign_error_rate_check(campaign_id=sms.pk), outcome, str(i), barrier)
        for i in range(n)
    ]
    for thread in threads:
        thread.join(20)

    assert sorted(outcome.values()) == [False, False, False, True], outcome
    assert [e["type"] for e in events_read(campaign_stream(sms.pk))] == [
        "campaign.paused.error_rate"
    ]
    assert AlertDelivery.objects.count() == 1


# --- The billing stop ------------------------------------------------------------------------


@pytest.fixture
def no_billing_keys(org, other_org):
    keys = [billing_dedupe_key(org.pk), billing_dedupe_key(other_org.pk)]
    get_redis().delete(*keys)
    yield
    get_redis().delete(*keys)


@pytest.mark.usefixtures("no_billing_keys")
def test_a_billing_stop_alerts_once_per_org_and_window(sms, other_campaign, settings):
    settings.ALERT_BILLING_DEDUPE_SECONDS = 600
    org, other_org = (
        Organization.objects.get(pk=sms.organization_id),
        Organization.objects.get(pk=other_campaign.organization_id),
    )

    alert = billing_stop_alert(org=org, campaign_id=sms.pk, messages=500)
    again = [billing_stop_alert(org=org, campaign_id=sms.pk, messages=500) for _ in range(3)]
    theirs = billing_stop_alert(org=other_org, campaign_id=other_campaign.pk, messages=7)

    assert alert is not None and again == [None] * 3 and theirs is not None
    assert alert.event == "billing.stopped"
    assert alert.payload["data"] == {
        "campaign_id": sms.pk,
        "campaign_name": sms.name,
        "reason": "billing",
        "messages": 500,
    }
    assert sorted(AlertDelivery.objects.values_list("organization_id", flat=True)) == sorted(
        [org.pk, other_org.pk]
    )
    assert 590 <= get_redis().ttl(billing_dedupe_key(org.pk)) <= 600

    get_redis().delete(billing_dedupe_key(org.pk))  # the window has passed
    assert billing_stop_alert(org=org, campaign_id=sms.pk, messages=1) is not None


@pytest.mark.usefixtures("no_billing_keys")
def test_a_billing_stop_without_a_url_alerts_nothing_and_keeps_the_window_open(campaign):
    org = campaign.organization
    assert billing_stop_alert(org=org, campaign_id=campaign.pk, messages=5) is None
    assert not get_redis().exists(billing_dedupe_key(org.pk))

    org.alert_webhook_url = URL
    assert billing_stop_alert(org=org, campaign_id=campaign.pk, messages=5) is not None
