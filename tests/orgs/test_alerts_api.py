"""The alert API: the caller's alert log, its webhook URL, rotating its signing secret."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orgs.models import AlertDelivery, Organization
from tests.factories import make_alert

ALERTS, SETTINGS = "/api/v1/alerts/", "/api/v1/alerts/settings/"
ROTATE = "/api/v1/alerts/settings/rotate-secret/"


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_the_log_lists_the_callers_alerts_newest_first(api, other_api, org, other_org):
    older = make_alert(org, "billing.stopped", messages=3)
    newer = make_alert(org, "campaign.paused.error_rate", campaign_id=1)
    theirs = make_alert(other_org)
    AlertDelivery.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(1))

    assert ids(api.get(ALERTS)) == [newer.pk, older.pk]
    assert ids(other_api.get(ALERTS)) == [theirs.pk]
    row = api.get(f"{ALERTS}{older.pk}/").json()
    older.refresh_from_db()
    assert row["payload"] == older.payload
    assert row["payload"]["data"] == {"messages": 3}
    assert (row["event"], row["status"], row["attempts"]) == ("billing.stopped", "pending", 0)
    assert api.get(f"{ALERTS}{theirs.pk}/").status_code == 404


def test_the_log_filters_by_status_and_event_and_pages_by_cursor(api, org):
    failed = make_alert(org, "billing.stopped")
    delivered = make_alert(org, "campaign.paused.no_dids")
    pending = make_alert(org, "campaign.paused.no_dids")
    AlertDelivery.objects.filter(pk=failed.pk).update(status="failed", last_error="HTTP 500")
    AlertDelivery.objects.filter(pk=delivered.pk).update(status="delivered")

    assert ids(api.get(ALERTS, {"status": "failed"})) == [failed.pk]
    assert ids(api.get(ALERTS, {"status__in": "failed,pending"})) == [pending.pk, failed.pk]
    assert ids(api.get(ALERTS, {"event": "campaign.paused.no_dids"})) == [
        pending.pk,
        delivered.pk,
    ]
    assert api.get(ALERTS, {"status": "lost"}).status_code == 400
    page = api.get(ALERTS, {"page_size": 2}).json()
    assert [a["id"] for a in page["results"]] == [pending.pk, delivered.pk]
    assert ids(api.get(page["next"])) == [failed.pk]


def test_the_log_costs_the_same_queries_for_one_alert_or_many(api, org):
    make_alert(org)
    api.get(ALERTS)  # warm the key's last-use stamp
    with CaptureQueriesContext(connection) as one:
        assert api.get(ALERTS).status_code == 200
    for _ in range(20):
        make_alert(org)
    with CaptureQueriesContext(connection) as many:
        assert len(ids(api.get(ALERTS))) == 21
    assert len(many) == len(one)


def test_settings_show_the_url_and_never_the_secret(api, org):
    org.alert_webhook_url = "https://hooks.test/acme"
    org.save()
    for path in (SETTINGS, SETTINGS.rstrip("/")):
        response = api.get(path)
        assert response.json() == {"alert_webhook_url": "https://hooks.test/acme"}
        assert org.alert_secret not in response.content.decode()


def test_the_url_is_set_and_cleared_for_the_callers_org_only(api, org, other_org):
    response = api.patch(SETTINGS, {"alert_webhook_url": "https://hooks.test/new"}, format="json")
    assert response.json() == {"alert_webhook_url": "https://hooks.test/new"}
    assert Organization.objects.get(pk=org.pk).alert_webhook_url == "https://hooks.test/new"
    assert Organization.objects.get(pk=other_org.pk).alert_webhook_url == ""

    assert api.patch(SETTINGS, {"alert_webhook_url": ""}, format="json").status_code == 200
    assert Organization.objects.get(pk=org.pk).alert_webhook_url == ""


def test_a_bad_url_is_a_400_and_changes_nothing(api, org):
    for url in ("ftp://hooks.test/x", "not a url", "https://" + "a" * 500 + ".test"):
        response = api.patch(SETTINGS, {"alert_webhook_url": url}, format="json")
        assert response.status_code == 400
        assert "alert_webhook_url" in response.json()
    assert api.patch(SETTINGS, {}, format="json").status_code == 400
    assert Organization.objects.get(pk=org.pk).alert_webhook_url == ""


def test_rotating_shows_the_new_secret_once(api, other_api, org, other_org):
    before, theirs = org.alert_secret, other_org.alert_secret

    response = api.post(ROTATE)

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = response.json()["alert_secret"]
    assert len(secret) == 64 and secret != before
    assert Organization.objects.get(pk=org.pk).alert_secret == secret
    assert Organization.objects.get(pk=other_org.pk).alert_secret == theirs
    assert secret not in api.get(SETTINGS).content.decode()
    assert api.post(ROTATE).json()["alert_secret"] != secret
