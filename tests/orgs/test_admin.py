"""The organization admin's SMS fields: credit added (never overwritten), blocked words, alerts."""

from django.db.models import F

from orgs.models import Organization
from tests.admin_forms import admin_form_data

CHANGELIST = "/admin/orgs/organization/"


def change_url(org) -> str:
    return f"{CHANGELIST}{org.pk}/change/"


def test_the_changelist_and_change_form_show_the_sms_fields(admin_client, org):
    Organization.objects.filter(pk=org.pk).update(sms_credits=1234)
    assert "column-sms_credits" in admin_client.get(CHANGELIST).content.decode()

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
