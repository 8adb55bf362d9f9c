"""/api/v1/credits/ and /api/v1/blocked-words/: the organization's SMS credit and banned words."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F

from orgs.models import Organization
from orgs.services import credits_add

CREDITS = "/api/v1/credits/"
WORDS = "/api/v1/blocked-words/"


def credits_of(org) -> int:
    return Organization.objects.values_list("sms_credits", flat=True).get(pk=org.pk)


# --- Credits -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [CREDITS, CREDITS.rstrip("/")])
def test_credits_read_and_add(api, org, path):
    assert api.get(path).json() == {"sms_credits": 0}
    response = api.post(path, {"add": 1500}, format="json")
    assert (response.status_code, response.json()) == (200, {"sms_credits": 1500})
    assert api.post(path, {"add": 1}, format="json").json() == {"sms_credits": 1501}
    assert credits_of(org) == 1501
    assert api.get(path).json() == {"sms_credits": 1501}


@pytest.mark.parametrize(
    "body", [{"add": 0}, {"add": -10}, {"add": 1_000_000_001}, {"add": "lots"}, {}]
)
def test_adding_nothing_or_too_much_is_400_and_changes_nothing(api, org, body):
    Organization.objects.filter(pk=org.pk).update(sms_credits=40)
    response = api.post(CREDITS, body, format="json")
    assert (response.status_code, list(response.json())) == (400, ["add"])
    assert credits_of(org) == 40


def test_credits_are_the_callers_own(api, other_api, org, other_org):
    api.post(CREDITS, {"add": 70}, format="json")
    assert other_api.get(CREDITS).json() == {"sms_credits": 0}
    assert credits_of(other_org) == 0


def test_credits_add_answers_the_balance_it_made(org):
    Organization.objects.filter(pk=org.pk).update(sms_credits=F("sms_credits") + 5)  # elsewhere
    assert credits_add(org=org, segments=10) == 15 == org.sms_credits == credits_of(org)
    with pytest.raises(ValidationError):
        credits_add(org=org, segments=0)
    assert credits_of(org) == 15


@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_and_spends_lose_nothing(org):
    """Adds from the API race the engine taking credit (an F() decrement): every change counts."""
    Organization.objects.filter(pk=org.pk).update(sms_credits=1000)
    start = threading.Barrier(8)

    def add() -> None:
        try:
            start.wait()
            for _ in range(25):
                credits_add(org=Organization(pk=org.pk), segments=3)
        finally:
            connection.close()

    def spend() -> None:
        try:
            start.wait()
            for _ in range(25):
                Organization.objects.filter(pk=org.pk, sms_credits__gte=2).update(
                    sms_credits=F("sms_credits") - 2
                )
        finally:
            connection.close()

    threads = [threading.Thread(target=add) for _ in range(4)]
    threads += [threading.Thread(target=spend) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert credits_of(org) == 1000 + 4 * 25 * 3 - 4 * 25 * 2


# --- Blocked words -----------------------------------------------------------------------------


def test_blocked_words_are_trimmed_and_deduplicated_ignoring_case(api, org):
    assert api.get(WORDS).json() == {"blocked_words": []}
    words = ["  free money ", "Casino", "casino", "CASINO ", "wire transfer", "Free Money"]
    response = api.put(WORDS, {"blocked_words": words}, format="json")
    assert response.status_code == 200
    expected = ["free money", "Casino", "wire transfer"]
    assert response.json() == {"blocked_words": expected}
    org.refresh_from_db()
    assert org.blocked_words == expected
    assert api.get(WORDS).json() == {"blocked_words": expected}
    assert api.put(WORDS, {"blocked_words": []}, format="json").json() == {"blocked_words": []}


def test_500_words_of_50_characters_are_allowed(api):
    words = [f"{i:03d}" + "x" * 47 for i in range(500)]
    response = api.put(WORDS, {"blocked_words": words + [words[0].upper()]}, format="json")
    assert response.status_code == 200
    assert len(response.json()["blocked_words"]) == 500


@pytest.mark.parametrize(
    "words, message",
    [
        (["ok", "  "], "Each word has 1-50 characters (trimmed): '  ' does not."),
        (["x" * 51], "Each word has 1-50 characters"),
        ([f"word{i}" for i in range(501)], "At most 500 words; these are 501."),
        ("casino", None),
        ([["nested"]], None),
        (None, None),
    ],
)
def test_bad_blocked_words_are_400_and_change_nothing(api, org, words, message):
    Organization.objects.filter(pk=org.pk).update(blocked_words=["casino"])
    response = api.put(WORDS, {"blocked_words": words}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["blocked_words"])
    if message:
        assert message in response.json()["blocked_words"][0]
    assert Organization.objects.get(pk=org.pk).blocked_words == ["casino"]


def test_blocked_words_are_the_callers_own(api, other_api, other_org):
    api.put(WORDS, {"blocked_words": ["casino"]}, format="json")
    assert other_api.get(WORDS).json() == {"blocked_words": []}
    assert Organization.objects.get(pk=other_org.pk).blocked_words == []
