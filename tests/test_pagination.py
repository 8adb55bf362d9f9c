"""Every cursor-paginated list reaches every row once, however many share a timestamp: a
blast's texts are written in one statement, and a position on the time alone repeated a page
and left the rest out of reach."""

from datetime import UTC, datetime

import pytest

from campaigns.models import CallAttempt, Campaign
from messaging.models import Message
from orgs.models import AlertDelivery
from prospects.models import Suppression

pytestmark = pytest.mark.django_db

ROWS = 2_500
AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _messages(org, **fields):
    campaign = Campaign.objects.create(organization=org, name="Blast", channel="sms")
    rows = Message.objects.bulk_create(
        Message(organization=org, campaign=campaign, to=f"+1415555{n:04d}", body="Hi", **fields)
        for n in range(ROWS)
    )
    Message.objects.filter(pk__in=[m.pk for m in rows]).update(created_at=AT, updated_at=AT)
    return {m.pk for m in rows}


def texts(org):
    return _messages(org)


def dead_letters(org):
    return _messages(org, status="failed", failure_reason=Message.FailureReason.STALE)


def calls(org):
    rows = CallAttempt.objects.bulk_create(
        CallAttempt(organization=org, to=f"+1800555{n:04d}", pool=CallAttempt.Pool.API)
        for n in range(ROWS)
    )
    CallAttempt.objects.filter(pk__in=[c.pk for c in rows]).update(created_at=AT)
    return {c.pk for c in rows}


def alerts(org):
    rows = AlertDelivery.objects.bulk_create(
        AlertDelivery(organization=org, event="e", payload={}, url="https://a.example.test")
        for _ in range(ROWS)
    )
    AlertDelivery.objects.filter(pk__in=[a.pk for a in rows]).update(created_at=AT)
    return {a.pk for a in rows}


def suppressions(org):
    rows = Suppression.objects.bulk_create(
        Suppression(organization=org, e164=f"+1212555{n:04d}", reason="dnc") for n in range(ROWS)
    )
    Suppression.objects.filter(pk__in=[s.pk for s in rows]).update(created_at=AT)
    return {s.pk for s in rows}


LISTS = [
    ("/api/v1/messages/", texts),
    ("/api/v1/dead-letters/", dead_letters),
    ("/api/v1/calls/", calls),
    ("/api/v1/alerts/", alerts),
    ("/api/v1/suppressions/", suppressions),
]


def walk(api, url, link="next") -> list[int]:
    """The ids of every page from `url` on, following `link`; a link back to a page already
    seen ends the walk (it would go round for ever)."""
    seen, visited = [], set()
    while url and url not in visited:
        visited.add(url)
        body = api.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body[link]
    return seen


@pytest.mark.parametrize(("path", "make"), LISTS)
@pytest.mark.parametrize("page_size", [1000, 100])
def test_every_row_is_reached_once_when_they_share_a_timestamp(api, org, path, make, page_size):
    ids = make(org)

    seen = walk(api, f"{path}?page_size={page_size}")

    assert len(seen) == len(ids) and set(seen) == ids
    assert seen == sorted(seen, reverse=True)  # newest first: the id breaks the tie


def test_previous_pages_lead_back_to_the_first(api, org):
    ids = texts(org)
    first = api.get("/api/v1/messages/?page_size=700").json()
    url = first["next"]
    while True:  # to the last page
        body = api.get(url).json()
        if not body["next"]:
            break
        url = body["next"]

    back = walk(api, body["previous"], link="previous")

    assert back[-700:] == [row["id"] for row in first["results"]]
    assert len(back) + len(body["results"]) == len(ids)


def test_a_cursor_that_is_not_one_of_ours_is_a_404(api, org):
    assert api.get("/api/v1/messages/?cursor=bm90LWEtY3Vyc29y").status_code == 404
