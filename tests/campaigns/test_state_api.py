"""The state machine's interfaces: POST /api/v1/campaigns/{id}/start|pause|resume|cancel/ and
the Start/Pause/Resume/Cancel actions of the campaign admin."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages

from campaigns.models import Campaign
from config.events import campaign_stream, events_read
from orgs.models import Membership, Scope
from prospects.models import Prospect
from tests.campaigns.conftest import VALID_TRANSITIONS, put_in
from tests.factories import make_prospect

S = Campaign.Status
pytestmark = pytest.mark.usefixtures("empty_streams")
VALID = VALID_TRANSITIONS
ACTIONS = ("start", "pause", "resume", "cancel")
ALLOWED_FROM = {"start": S.CREATED, "pause": S.DIALING, "resume": S.PAUSED, "cancel": S.DIALING}
INVALID = [(a, s) for a in ACTIONS for s in S.values if (a, s) not in VALID]


def url(campaign, action: str) -> str:
    return f"/api/v1/campaigns/{campaign.pk}/{action}/"


def snapshot(campaign) -> dict:
    return Campaign.objects.filter(pk=campaign.pk).values().get()


# --- API -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "from_", "to"), [(a, f, t) for (a, f), t in VALID.items()])
def test_each_valid_transition_returns_the_campaign(api, campaign, action, from_, to):
    put_in(campaign, from_)

    response = api.post(url(campaign, action))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == campaign.pk and body["name"] == "Acme spring"
    assert body["status"] == to
    assert Campaign.objects.get(pk=campaign.pk).status == to


@pytest.mark.parametrize(("action", "from_"), INVALID)
def test_each_invalid_transition_is_a_409_naming_the_current_status(api, campaign, action, from_):
    put_in(campaign, from_)
    before = snapshot(campaign)

    response = api.post(url(campaign, action))

    assert response.status_code == 409
    assert response.json() == {
        "detail": f"Cannot {action} a campaign that is {from_}.",
        "code": "invalid_transition",
        "status": from_,
    }
    assert snapshot(campaign) == before


def test_the_full_lifecycle_with_its_fields_and_events(
    api, campaign, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post(url(campaign, "start")).json()
    assert started["started_at"] and started["finished_at"] is None

    with django_capture_on_commit_callbacks(execute=True):
        paused = api.post(url(campaign, "pause")).json()
    assert (paused["status"], paused["pause_reason"]) == ("paused", "manual")

    with django_capture_on_commit_callbacks(execute=True):
        resumed = api.post(url(campaign, "resume")).json()
    assert (resumed["status"], resumed["pause_reason"]) == ("dialing", "")
    assert resumed["started_at"] == started["started_at"]

    with django_capture_on_commit_callbacks(execute=True):
        cancelled = api.post(url(campaign, "cancel")).json()
    assert cancelled["status"] == "cancelled" and cancelled["finished_at"]

    assert [(e["type"], e["data"]) for e in events_read(campaign_stream(campaign.pk))] == [
        ("campaign.started", {}),
        ("campaign.paused", {"reason": "manual"}),
        ("campaign.resumed", {}),
        ("campaign.cancelled", {"prospects_cancelled": 0}),
    ]


def test_a_refused_transition_emits_no_event(api, campaign, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(url(campaign, "resume")).status_code == 409
    assert events_read(campaign_stream(campaign.pk)) == []


def test_cancel_cancels_queued_prospects_and_leaves_calls_in_flight(api, campaign, other_campaign):
    put_in(campaign, S.DIALING)
    queued = make_prospect(campaign, "+14155550101")
    in_flight = make_prospect(campaign, "+14155550102", status=Prospect.Status.DIALING)
    elsewhere = make_prospect(other_campaign, "+14155550101")

    assert api.post(url(campaign, "cancel")).status_code == 200

    assert Prospect.objects.get(pk=queued.pk).status == "cancelled"
    assert Prospect.objects.get(pk=in_flight.pk).status == "dialing"
    assert Prospect.objects.get(pk=elsewhere.pk).status == "queued"


@pytest.mark.parametrize("action", ACTIONS)
def test_a_key_without_campaigns_manage_is_forbidden(client_with_scopes, campaign, action):
    put_in(campaign, ALLOWED_FROM[action])
    before = snapshot(campaign)
    reader = client_with_scopes(
        Scope.CAMPAIGNS_READ, Scope.PROSPECTS_MANAGE, Scope.CONCURRENCY_MANAGE
    )

    response = reader.post(url(campaign, action))

    assert response.status_code == 403
    assert "campaigns:manage" in response.json()["detail"]
    assert snapshot(campaign) == before


@pytest.mark.parametrize("action", ACTIONS)
def test_a_key_with_only_campaigns_manage_may(client_with_scopes, campaign, action):
    put_in(campaign, ALLOWED_FROM[action])

    response = client_with_scopes(Scope.CAMPAIGNS_MANAGE).post(url(campaign, action))

    assert response.status_code == 200, response.content


@pytest.mark.parametrize("action", ACTIONS)
def test_another_orgs_campaign_is_not_found_and_not_changed(
    api, other_campaign, action, django_capture_on_commit_callbacks
):
    put_in(other_campaign, ALLOWED_FROM[action])
    queued = make_prospect(other_campaign, "+14155550101")
    before = snapshot(other_campaign)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(url(other_campaign, action))

    assert response.status_code == 404
    assert "status" not in response.json()  # not even the status leaks
    assert snapshot(other_campaign) == before
    assert Prospect.objects.get(pk=queued.pk).status == "queued"
    assert events_read(campaign_stream(other_campaign.pk)) == []


def test_the_owner_still_can(other_api, other_campaign):
    assert other_api.post(url(other_campaign, "start")).status_code == 200


def test_only_post_is_allowed(api, campaign):
    assert api.get(url(campaign, "start")).status_code == 405
    assert Campaign.objects.get(pk=campaign.pk).status == "created"


def test_the_schema_documents_the_actions(db):
    from django.test import Client

    schema = Client().get("/api/schema/", {"format": "json"}).json()
    for action in ACTIONS:
        operation = schema["paths"][f"/api/v1/campaigns/{{id}}/{action}/"]["post"]
        assert operation["operationId"] == f"campaigns_{action}"
        assert {"200", "409"} <= set(operation["responses"])
        assert "requestBody" not in operation


# --- Admin ---------------------------------------------------------------------------------

CHANGELIST = "/admin/campaigns/campaign/"


def run_action(client, action: str, *campaigns):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [c.pk for c in campaigns]},
        follow=True,
    )


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize(
    ("admin_action", "from_", "to", "verb"),
    [
        ("start_campaigns", S.CREATED, S.DIALING, "Started"),
        ("pause_campaigns", S.DIALING, S.PAUSED, "Paused"),
        ("resume_campaigns", S.PAUSED, S.DIALING, "Resumed"),
        ("cancel_campaigns", S.DIALING, S.CANCELLED, "Cancelled"),
    ],
)
def test_admin_action_transitions_each_selected_campaign(
    admin_client, campaign, other_campaign, admin_action, from_, to, verb
):
    put_in(campaign, from_)
    put_in(other_campaign, from_)

    response = run_action(admin_client, admin_action, campaign, other_campaign)

    assert response.status_code == 200
    assert Campaign.objects.get(pk=campaign.pk).status == to
    assert Campaign.objects.get(pk=other_campaign.pk).status == to
    assert sorted(messages_of(response)) == [
        ("success", f"{verb} “Acme spring”."),
        ("success", f"{verb} “Globex spring”."),
    ]


def test_admin_action_warns_for_each_refused_campaign(
    admin_client, campaign, other_campaign, django_capture_on_commit_callbacks
):
    put_in(campaign, S.DIALING)
    put_in(other_campaign, S.COMPLETED)
    make_prospect(other_campaign, "+14155550101")

    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(admin_client, "cancel_campaigns", campaign, other_campaign)

    assert sorted(messages_of(response)) == [
        ("success", "Cancelled “Acme spring”."),
        ("warning", "Could not cancel “Globex spring”: it is completed."),
    ]
    assert Campaign.objects.get(pk=other_campaign.pk).status == "completed"
    assert Prospect.objects.get(campaign_id=other_campaign.pk).status == "queued"
    assert [e["type"] for e in events_read(campaign_stream(campaign.pk))] == ["campaign.cancelled"]
    assert events_read(campaign_stream(other_campaign.pk)) == []


def test_admin_pause_is_manual_and_resume_clears_it(admin_client, campaign):
    put_in(campaign, S.DIALING)
    run_action(admin_client, "pause_campaigns", campaign)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.pause_reason) == ("paused", "manual")

    put_in(campaign, S.PAUSED, reason="no_dids")
    run_action(admin_client, "resume_campaigns", campaign)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.pause_reason) == ("dialing", "")


def test_an_org_operator_cannot_act_on_another_orgs_campaign(client, org, campaign, other_campaign):
    user = get_user_model().objects.create_user("ops", password="pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="campaigns", codename__in=["view_campaign", "change_campaign"]
        )
    )
    Membership.objects.create(user=user, organization=org)
    client.force_login(user)

    response = run_action(client, "start_campaigns", campaign, other_campaign)

    assert response.status_code == 200
    assert messages_of(response) == [("success", "Started “Acme spring”.")]
    assert Campaign.objects.get(pk=campaign.pk).status == "dialing"
    assert Campaign.objects.get(pk=other_campaign.pk).status == "created"


def test_the_actions_are_offered(admin_client, campaign):
    response = admin_client.get(CHANGELIST)
    actions = dict(response.context["action_form"].fields["action"].choices)
    assert {k: actions[k] for k in ACTIONS_BY_NAME} == ACTIONS_BY_NAME


ACTIONS_BY_NAME = {
    "start_campaigns": "Start",
    "pause_campaigns": "Pause",
    "resume_campaigns": "Resume",
    "cancel_campaigns": "Cancel",
}
