"""The organization admin: alert settings and secret rotation, the read-only alert log, and the
SMS fields (credit added, never overwritten; blocked words)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import F

from orgs.models import Membership, Organization
from tests.admin_forms import admin_form_data
from tests.factories import make_alert

ORGS, ALERTS = "/admin/orgs/organization/", "/admin/orgs/alertdelivery/"


def operator(client, org, *codenames: str):
    """A staff user of `org` with these permissions, logged in."""
    user = get_user_model().objects.create_user("ops", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    Membership.objects.create(user=user, organization=org)
    client.force_login(user)
    return user


def rotate(client, *orgs):
    return client.post(
        ORGS, {"action": "rotate_alert_secret", "_selected_action": [o.pk for o in orgs]}
    )


def secrets_of(*orgs) -> list[str]:
    return [Organization.objects.get(pk=o.pk).alert_secret for o in orgs]


def test_the_change_form_edits_the_url_and_hides_the_secret(admin_client, org):
    org.alert_webhook_url = "https://hooks.test/acme"
    org.save()
    html = admin_client.get(f"{ORGS}{org.pk}/change/").content.decode()
    assert 'name="alert_webhook_url"' in html and "https://hooks.test/acme" in html
    assert 'name="alert_secret"' not in html and org.alert_secret not in html
    assert "https://hooks.test/acme" in admin_client.get(ORGS).content.decode()


def test_rotating_shows_each_new_secret_once(admin_client, org, other_org):
    before = secrets_of(org, other_org)

    response = rotate(admin_client, org)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    (new,) = secrets_of(org)
    assert new != before[0] and new in response.content.decode()
    assert secrets_of(other_org) == before[1:]
    assert new not in admin_client.get(f"{ORGS}{org.pk}/change/").content.decode()


def test_an_operator_rotates_only_their_orgs_secret(client, org, other_org):
    operator(client, org, "view_organization", "change_organization")
    theirs = secrets_of(other_org)
    response = rotate(client, org, other_org)
    assert response.status_code == 200
    assert secrets_of(other_org) == theirs
    assert secrets_of(org)[0] in response.content.decode()


def test_rotating_needs_change_permission(client, org):
    operator(client, org, "view_organization")
    before = secrets_of(org)
    rotate(client, org)
    assert secrets_of(org) == before


def test_the_alert_log_is_read_only_and_shows_the_operators_org_only(client, org, other_org):
    operator(client, org, "view_alertdelivery")
    ours = make_alert(org, "billing.stopped")
    theirs = make_alert(other_org, "campaign.paused.error_rate")

    html = client.get(ALERTS).content.decode()
    assert f"{ALERTS}{ours.pk}/change/" in html and "billing.stopped" in html
    assert f"{ALERTS}{theirs.pk}/" not in html and "Globex" not in html
    assert client.get(f"{ALERTS}{theirs.pk}/change/").status_code == 302  # not found: home
    detail = client.get(f"{ALERTS}{ours.pk}/change/")
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert client.get(f"{ALERTS}add/").status_code == 403


# --- SMS fields ---------------------------------------------------------------------------------


def change_url(org) -> str:
    return f"{ORGS}{org.pk}/change/"


def test_the_changelist_and_change_form_show_the_sms_fields(admin_client, org):
    Organization.objects.filter(pk=org.pk).update(sms_credits=1234)
    assert "column-sms_credits" in admin_client.get(ORGS).content.decode()

    response = admin_client.get(change_url(org))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert {"blocked_words", "alert_webhook_url", "add_credits"} <= set(form.fields)
    assert "sms_credits" not in form.fields  # shown, changed only by adding
    assert "1234" in response.content.decode()


def test_a_save_adds_credit_and_never_puts_back_a_stale_balance(admin_client, org):
    Organization.objects.filter(pk=org.pk).update(sms_credits=100)
    data = admin_form_data(admin_client.get(change_url(org)))
    # The engine spends while the operator edits the page.
    Organization.objects.filter(pk=org.pk).update(sms_credits=F("sms_credits") - 40)

    response = admin_client.post(
        change_url(org),
        data
        | {
            "add_credits": 500,
            "alert_webhook_url": "https://hooks.acme.test/outbound",
            "blocked_words": '["  Casino", "casino", "free money"]',
        },
    )

    assert response.status_code == 302
    org.refresh_from_db()
    assert org.sms_credits == 60 + 500
    assert org.alert_webhook_url == "https://hooks.acme.test/outbound"
    assert org.blocked_words == ["Casino", "free money"]


def test_bad_blocked_words_are_refused(admin_client, org):
    data = admin_form_data(admin_client.get(change_url(org)))
    response = admin_client.post(change_url(org), data | {"blocked_words": '["ok", "   "]'})
    assert response.status_code == 200
    assert "Each word has 1-50 characters" in response.content.decode()
    assert Organization.objects.get(pk=org.pk).blocked_words == []
