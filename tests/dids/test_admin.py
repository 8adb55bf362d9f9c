"""The caller-ID admin: health columns, the strip of its last calls, release and retire."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dids.admin import STRIP_COLORS
from dids.health import health_apply, health_event_fields
from dids.models import Did, DidHealthEvent
from orgs.models import Membership
from tests.admin_forms import admin_form_data
from tests.factories import DidFactory

CHANGELIST = "/admin/dids/did/"
SQUARE = re.compile(r'<span title="([^"]*)" style="[^"]*background:(#[0-9a-f]{6})"></span>')
# (outcome, seconds, SIP code) -> the strip's color
CALLS = [
    (("human_connected", 90, None), "person"),
    (("voicemail", 30, None), "machine"),
    (("no_answer", 0, 487), "no answer"),
    (("busy", 0, 486), "no answer"),
    (("failed", 0, 608), "spam"),
    (("failed", 0, 500), "failed"),
    (("canceled", 0, None), "failed"),
]


def made_calls(did, *calls) -> Did:
    """`calls` as the carrier settled them, taken in by the caller ID's score."""
    at = timezone.now() - timedelta(minutes=len(calls))
    for i, (outcome, seconds, sip) in enumerate(calls):
        DidHealthEvent.objects.create(
            did=did,
            organization_id=did.organization_id,
            created_at=at + timedelta(minutes=i),
            **health_event_fields(outcome=outcome, answered_by="", duration=seconds, sip_code=sip),
        )
    health_apply([did.id])
    did.refresh_from_db()
    return did


def squares(html: str, did) -> list[tuple[str, str]]:
    """The (title, color) squares in the changelist row of `did`."""
    (row,) = [row for row in html.split("<tr") if f'href="{CHANGELIST}{did.pk}/change/' in row]
    return SQUARE.findall(row)


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def run_action(client, action: str, *dids):
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": [d.pk for d in dids]}, follow=True
    )


# --- The changelist ----------------------------------------------------------------------------


def test_the_strip_shows_each_call_colored_by_what_it_says_newest_last(admin_client, org):
    did = made_calls(DidFactory(organization=org), *(call for call, _ in CALLS))
    quiet = DidFactory(organization=org)

    response = admin_client.get(CHANGELIST)

    html = response.content.decode()
    strip = squares(html, did)
    assert [color for _, color in strip] == [STRIP_COLORS[kind] for _, kind in CALLS]
    assert strip[0][0].startswith("human_connected, 90 s (")
    assert strip[4][0].startswith("failed, SIP 608 (")
    assert squares(html, quiet) == []


def test_the_strip_holds_the_last_50_calls(admin_client, org):
    did = made_calls(DidFactory(organization=org), *[("busy", 0, 486)] * 10)
    did = made_calls(did, *[("human_connected", 75, None)] * 50)

    strip = squares(admin_client.get(CHANGELIST).content.decode(), did)

    assert len(strip) == 50
    assert {color for _, color in strip} == {STRIP_COLORS["person"]}


def test_state_score_and_warning_are_columns(admin_client, org):
    DidFactory(organization=org, state="cooling", health_score=0.6349, health_warning=True)

    response = admin_client.get(CHANGELIST)

    content = response.content.decode()
    for column in ("column-state", "column-score", "column-warning", "column-last_calls"):
        assert column in content
    assert ">0.63<" in content and ">cooling<" in content.lower()


def test_a_health_warning_shows_as_a_warning_and_a_healthy_caller_id_shows_none(
    admin_client, org
):
    DidFactory(organization=org, e164="+14155550101", health_warning=True)
    DidFactory(organization=org, e164="+14155550102", health_warning=False)

    content = admin_client.get(CHANGELIST).content.decode()

    cell = r'<th class="field-e164">.*?(\d{4})</a>.*?field-warning">(.*?)</td>'
    shown = dict(re.findall(cell, content))
    assert "⚠ warning" in shown["0101"] and "icon-" not in shown["0101"]
    assert shown["0102"] == "-"  # healthy: nothing to warn of, not a red cross


def test_the_changelist_reads_the_pages_calls_in_one_query(admin_client, org):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(CHANGELIST).status_code == 200
        return len(ctx)

    for _ in range(3):
        made_calls(DidFactory(organization=org), ("voicemail", 20, None), ("busy", 0, 486))
    few = count()
    for _ in range(17):
        made_calls(DidFactory(organization=org), ("voicemail", 20, None))
    assert count() == few


def test_the_change_form_shows_health_read_only(admin_client, org):
    did = made_calls(DidFactory(organization=org), ("human_connected", 90, None))

    response = admin_client.get(f"{CHANGELIST}{did.pk}/change/")

    assert response.status_code == 200
    form_fields = response.context["adminform"].form.fields
    for name in ("health_calls", "health_warning", "cooldowns", "ramp_calls", "burned_at"):
        assert name not in form_fields  # read-only, shown but not editable
    assert "health_calls" in response.context["adminform"].readonly_fields
    assert len(SQUARE.findall(response.content.decode())) == 1
    assert "answer_rate 1.00" in response.content.decode()
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 200  # no calls, no caller ID yet


# --- Actions -----------------------------------------------------------------------------------


def test_release_from_cooldown_releases_only_the_cooling_ones(admin_client, org, other_org):
    until = timezone.now() + timedelta(hours=2)
    cooling = DidFactory(organization=org, state="cooling", cooldown_until=until, cooldowns=1)
    theirs = DidFactory(organization=other_org, state="cooling", cooldown_until=until)
    burned = DidFactory(organization=org, state="burned")

    response = run_action(admin_client, "release_from_cooldown", cooling, theirs, burned)

    assert messages_of(response) == [
        (
            "warning",
            "Released 2 of 3 selected caller IDs from cooldown; only cooling ones are released.",
        )
    ]
    cooling.refresh_from_db()
    assert (cooling.state, cooling.cooldown_until, cooling.ramp_calls) == ("active", None, 0)
    assert Did.objects.get(pk=theirs.pk).state == "active"
    assert Did.objects.get(pk=burned.pk).state == "burned"


def test_release_of_cooling_ones_only_is_a_success(admin_client, org):
    did = DidFactory(organization=org, state="cooling", cooldown_until=timezone.now())
    response = run_action(admin_client, "release_from_cooldown", did)
    assert messages_of(response) == [("success", "Released 1 caller ID from cooldown.")]


def test_retire_takes_caller_ids_out_for_good(admin_client, org):
    active = DidFactory(organization=org)
    cooling = DidFactory(organization=org, state="cooling", cooldown_until=timezone.now())
    retired = DidFactory(organization=org, state="retired")
    kept = DidFactory(organization=org)

    response = run_action(admin_client, "retire", active, cooling, retired)

    assert messages_of(response) == [("success", "Retired 2 caller IDs.")]
    assert dict(Did.objects.values_list("pk", "state")) == {
        active.pk: "retired",
        cooling.pk: "retired",
        retired.pk: "retired",
        kept.pk: "active",
    }
    assert Did.objects.get(pk=cooling.pk).cooldown_until is None


def test_an_org_operator_acts_only_on_their_orgs_caller_ids(client, org, other_org):
    user = get_user_model().objects.create_user("ops", password="pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="dids", codename__in=["view_did", "change_did"]
        )
    )
    Membership.objects.create(user=user, organization=org)
    client.force_login(user)
    ours, theirs = DidFactory(organization=org), DidFactory(organization=other_org)

    response = run_action(client, "retire", ours, theirs)

    assert messages_of(response) == [("success", "Retired 1 caller ID.")]
    assert Did.objects.get(pk=ours.pk).state == "retired"
    assert Did.objects.get(pk=theirs.pk).state == "active"


@pytest.mark.parametrize("action", ["release_from_cooldown", "retire"])
def test_the_actions_need_change_permission(client, org, action):
    user = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_did"))
    Membership.objects.create(user=user, organization=org)
    client.force_login(user)
    did = DidFactory(organization=org, state="cooling", cooldown_until=timezone.now())

    response = run_action(client, action, did)

    assert response.status_code == 200
    assert Did.objects.get(pk=did.pk).state == "cooling"


@pytest.mark.parametrize(
    "value, saved", [("25", 25.0), ("", None), ("0", "refused"), ("1001", "refused")]
)
def test_the_change_form_sets_sms_mps_within_its_range(admin_client, org, value, saved):
    did = DidFactory(organization=org, sms_mps=3)
    url = f"{CHANGELIST}{did.pk}/change/"
    response = admin_client.post(url, admin_form_data(admin_client.get(url)) | {"sms_mps": value})
    if saved == "refused":
        assert response.status_code == 200 and "at most 1000" in response.content.decode()
        saved = 3.0
    assert Did.objects.get(pk=did.pk).sms_mps == saved
