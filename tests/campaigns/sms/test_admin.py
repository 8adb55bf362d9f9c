"""The text and short-link admins: read-only pages, exact search, filters, "Retry selected"."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.utils import timezone

from campaigns.sms.admin import SmsCampaignFilter
from messaging.models import LinkClick, Message, MessageShortLink
from orgs.models import Membership
from tests.factories import CampaignFactory, DidFactory, MessageFactory, make_dead_letter
from tests.queries import queries_of_get

CHANGELIST = "/admin/messaging/message/"
LINKS = "/admin/messaging/messageshortlink/"


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def run_retry(client, *messages):
    return client.post(
        CHANGELIST,
        {"action": "retry_selected", "_selected_action": [m.pk for m in messages]},
        follow=True,
    )


def listed(response) -> set[int]:
    return {m.pk for m in response.context["cl"].result_list}


def operator(client, org, *codenames: str):
    """A staff member of `org` only, with the given messaging permissions."""
    user = get_user_model().objects.create_user("ops", password="pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="messaging", codename__in=codenames)
    )
    Membership.objects.create(user=user, organization=org)
    client.force_login(user)
    return client


# --- Texts -------------------------------------------------------------------------------------


def test_the_changelist_shows_status_reason_and_the_tri_state_icons(admin_client, sms):
    sender = DidFactory(organization=sms.organization, e164="+14155550199")
    MessageFactory(campaign=sms, sender=sender, status="delivered", submitted=True, delivered=True)
    make_dead_letter(sms, "BILLING")

    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    html = response.content.decode()
    for column in ("status", "reason", "campaign", "to", "sender", "submitted", "delivered"):
        assert f"column-{column}" in html
    assert "+14155550199" in html and ">BILLING<" in html
    assert "icon-yes.svg" in html and "icon-no.svg" in html and "icon-unknown.svg" in html
    assert response.context["cl"].show_full_result_count is False


def test_the_changelist_runs_a_constant_number_of_queries(admin_client, org):
    def make(n: int) -> None:
        for _ in range(n):
            campaign = CampaignFactory(organization=org, channel="sms")
            make_dead_letter(campaign, "STALE", sender=DidFactory(organization=org))

    make(3)
    queries_of_get(admin_client, CHANGELIST)
    few = queries_of_get(admin_client, CHANGELIST)
    make(20)
    assert queries_of_get(admin_client, CHANGELIST) == few


def test_filters_and_exact_search(admin_client, org, sms):
    other = CampaignFactory(organization=org, channel="sms", name="Other texts")
    texted = MessageFactory(campaign=sms, to="+14155550101", sid="SM" + "c" * 32, status="sent")
    stale = make_dead_letter(other, "STALE")

    assert listed(admin_client.get(CHANGELIST, {"status__exact": "sent"})) == {texted.pk}
    assert listed(admin_client.get(CHANGELIST, {"failure_reason__exact": "STALE"})) == {stale.pk}
    assert listed(admin_client.get(CHANGELIST, {"campaign": other.pk})) == {stale.pk}
    assert listed(admin_client.get(CHANGELIST, {"q": "+14155550101"})) == {texted.pk}
    assert listed(admin_client.get(CHANGELIST, {"q": " SM" + "c" * 32})) == {texted.pk}
    assert listed(admin_client.get(CHANGELIST, {"q": "4155550101"})) == set()  # exact only


def test_a_text_is_shown_read_only(admin_client, sms):
    message = make_dead_letter(sms, "PROVIDER_ERROR", failure_detail="carrier said no")
    response = admin_client.get(f"{CHANGELIST}{message.pk}/change/")
    assert response.status_code == 200
    assert response.context["adminform"].form.fields == {}  # nothing editable
    assert "carrier said no" in response.content.decode()
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    assert admin_client.post(f"{CHANGELIST}{message.pk}/delete/").status_code == 403
    assert Message.objects.filter(pk=message.pk).exists()


def test_retry_selected_queues_the_retryable_ones_and_says_what_it_skipped(
    admin_client, sms, other_sms
):
    ours, theirs = make_dead_letter(sms, "BILLING"), make_dead_letter(other_sms, "STALE")
    undelivered = make_dead_letter(sms, "UNDELIVERED", sid="SM" + "d" * 32)

    response = run_retry(admin_client, ours, theirs, undelivered)

    assert messages_of(response) == [
        (
            "warning",
            "Queued 2 text(s) again. Skipped 1: only texts that failed before the carrier took "
            "them are sent again (not UNDELIVERED ones, nor a cancelled campaign's).",
        )
    ]
    statuses = dict(Message.objects.values_list("pk", "status"))
    assert statuses == {ours.pk: "queued", theirs.pk: "queued", undelivered.pk: "failed"}
    ours.refresh_from_db()
    assert ours.prospect.status == "sending"


def test_retry_of_retryable_ones_only_is_a_success(admin_client, sms):
    response = run_retry(admin_client, make_dead_letter(sms, "STALE"))
    assert messages_of(response) == [("success", "Queued 1 text(s) again.")]


def test_an_org_operator_retries_only_their_orgs_texts(client, org, sms, other_sms):
    operator(client, org, "view_message", "change_message")
    ours, theirs = make_dead_letter(sms, "STALE"), make_dead_letter(other_sms, "STALE")

    assert listed(client.get(CHANGELIST)) == {ours.pk}
    run_retry(client, ours, theirs)

    assert Message.objects.get(pk=ours.pk).status == "queued"
    assert Message.objects.get(pk=theirs.pk).status == "failed"


def test_retry_needs_the_change_permission(client, org, sms):
    operator(client, org, "view_message")
    message = make_dead_letter(sms, "STALE")
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert "retry_selected" not in response.content.decode()
    run_retry(client, message)
    assert Message.objects.get(pk=message.pk).status == "failed"


def test_the_campaign_filter_lists_only_the_operators_sms_campaigns(client, org, sms, other_sms):
    operator(client, org, "view_message")
    CampaignFactory(organization=org, name="Calls")  # voice
    response = client.get(CHANGELIST)
    (spec,) = [f for f in response.context["cl"].filter_specs if isinstance(f, SmsCampaignFilter)]
    assert [name for _, name in spec.lookup_choices] == [sms.name]


# --- Short links -------------------------------------------------------------------------------


@pytest.fixture
def link(sms):
    link = MessageShortLink.objects.create(
        organization=sms.organization, campaign=sms, code="abc123", url="https://acme.test/sale"
    )
    now = timezone.now()
    for i, agent in enumerate(["Mozilla/5.0 (iPhone)", ""]):
        LinkClick.objects.create(link=link, clicked_at=now - timedelta(minutes=i), user_agent=agent)
    MessageShortLink.objects.filter(pk=link.pk).update(clicks=2, first_clicked_at=now)
    return link


def test_short_links_show_their_clicks_read_only(admin_client, link, other_sms):
    MessageShortLink.objects.create(
        organization=other_sms.organization, code="zzz999", url="https://globex.test"
    )
    response = admin_client.get(LINKS, {"q": "abc123"})
    assert listed(response) == {link.pk}
    assert "column-clicks" in response.content.decode()

    page = admin_client.get(f"{LINKS}{link.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Mozilla/5.0 (iPhone)" in html and "no user agent" in html
    assert page.context["adminform"].form.fields == {}
    assert admin_client.get(f"{LINKS}add/").status_code == 403


def test_an_org_operator_sees_only_their_orgs_links(client, org, link, other_sms):
    operator(client, org, "view_messageshortlink")
    MessageShortLink.objects.create(
        organization=other_sms.organization, code="zzz999", url="https://globex.test"
    )
    assert listed(client.get(LINKS)) == {link.pk}
