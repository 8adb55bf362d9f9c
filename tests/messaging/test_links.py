"""Tracked links: URLs become /l/<code>; a click is counted per link, message and campaign."""

import re
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns.selectors import campaign_link_stats
from messaging.links import (
    link_click,
    link_code_new,
    link_url,
    links_find,
    links_replace,
    links_shorten,
)
from messaging.models import LinkClick, Message, MessageShortLink
from orgs.models import Organization
from tests.factories import CampaignFactory

BASE = "https://t.example.test"
UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"


@pytest.fixture(autouse=True)
def public_base_url(settings):
    settings.PUBLIC_BASE_URL = BASE


def message_new(campaign) -> Message:
    return Message.objects.create(
        organization=campaign.organization, campaign=campaign, to="+14155550100", body="x"
    )


def short_link(
    campaign, url="https://shop.example.com/spring", *, message=None, campaign_wide=False, code=None
):
    """A short link of `campaign`: in `message`, a new message, or none (`campaign_wide`)."""
    if message is None and not campaign_wide:
        message = message_new(campaign)
    return MessageShortLink.objects.create(
        organization=campaign.organization,
        campaign=campaign,
        message=message,
        code=code or link_code_new(),
        url=url,
    )


# Finding and replacing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "urls"),
    [
        ("", []),
        ("No links here.", []),
        ("Visit https://example.com", ["https://example.com"]),
        ("Visit https://example.com.", ["https://example.com"]),
        ("Visit https://example.com...", ["https://example.com"]),
        ("See https://example.com/a, then call", ["https://example.com/a"]),
        ("Really? https://example.com/a?!", ["https://example.com/a"]),
        ("Deal: https://example.com/x;", ["https://example.com/x"]),
        ("More at https://example.com/a…", ["https://example.com/a"]),
        ("http://example.com/a?b=1&c=2#top", ["http://example.com/a?b=1&c=2#top"]),
        ("(https://example.com/a)", ["https://example.com/a"]),
        ("[https://example.com/a]", ["https://example.com/a"]),
        ("https://en.wikipedia.org/wiki/Foo_(bar)", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
        ("(see https://w.org/Foo_(bar)).", ["https://w.org/Foo_(bar)"]),
        ("<https://example.com/a>", ["https://example.com/a"]),
        ('"https://example.com/a"', ["https://example.com/a"]),
        ("'https://example.com/a'", ["https://example.com/a"]),
        ("https://example.com/a?q=1.", ["https://example.com/a?q=1"]),
        ("https://example.com:8443/a", ["https://example.com:8443/a"]),
        ("https://user@example.com/a", ["https://user@example.com/a"]),
        ("https://example.com/café", ["https://example.com/café"]),
        ("HTTPS://EXAMPLE.COM/A", ["HTTPS://EXAMPLE.COM/A"]),
        ("Go!https://example.com", ["https://example.com"]),
        ("a,https://example.com", ["https://example.com"]),
        ("https://a.example\nhttps://b.example", ["https://a.example", "https://b.example"]),
        ("https://a.example https://a.example.", ["https://a.example"]),
        ("https://a.example/x https://a.example", ["https://a.example/x", "https://a.example"]),
        ("https://example.com/{id}", ["https://example.com/{id}"]),
        ("https://example.com}", ["https://example.com"]),
        ("😀https://example.com😀", ["https://example.com😀"]),  # runs to whitespace
        ("xhttps://example.com", []),
        ("ftp://example.com/a", []),
        ("mailto:a@example.com", []),
        ("javascript:alert(1)", []),
        ("www.example.com", []),
        ("https://", []),
        ("https://.", []),
        ("https:// example.com", []),
        ("https://[::1", []),  # an unclosed IPv6 bracket is not a link, and no error
    ],
)
def test_links_find(body, urls):
    assert links_find(body) == urls


def test_links_replace_swaps_each_url_for_its_short_link_and_keeps_punctuation():
    body = "Shop https://shop.example/a. Or (https://b.example) or https://shop.example/a!"
    replaced = links_replace(body, {"https://shop.example/a": "AAA", "https://b.example": "BBB"})
    assert replaced == f"Shop {BASE}/l/AAA. Or ({BASE}/l/BBB) or {BASE}/l/AAA!"


def test_links_replace_matches_whole_urls_not_prefixes():
    body = "https://x.example and https://x.example/page"
    assert links_replace(body, {"https://x.example": "C"}) == (
        f"{BASE}/l/C and https://x.example/page"
    )


def test_links_replace_keeps_what_has_no_code():
    assert links_replace("no links", {"https://x.example": "C"}) == "no links"
    assert links_replace("https://y.example", {"https://x.example": "C"}) == "https://y.example"
    assert links_replace("https://y.example", {}) == "https://y.example"


def test_link_url_is_under_the_public_base_url(settings):
    assert link_url("abc") == f"{BASE}/l/abc"
    assert reverse("link-redirect", args=["abc"]) == "/l/abc"


def test_link_codes_are_random_url_safe_and_short():
    codes = {link_code_new() for _ in range(10_000)}
    assert len(codes) == 10_000
    for code in codes:
        # 12 characters of the URL-safe base64 alphabet: 72 bits.
        assert re.fullmatch(r"[A-Za-z0-9_-]{12}", code)


def test_links_shorten_gives_a_url_one_code():
    body, pairs = links_shorten("Spring sale: https://shop.example/s, again https://shop.example/s")
    [(code, url)] = pairs
    assert url == "https://shop.example/s"
    assert body == f"Spring sale: {BASE}/l/{code}, again {BASE}/l/{code}"


def test_links_shorten_gives_each_url_its_own_code():
    body, pairs = links_shorten("https://a.example/1 https://a.example/2")
    assert [url for _, url in pairs] == ["https://a.example/1", "https://a.example/2"]
    assert len({code for code, _ in pairs}) == 2
    assert body == " ".join(link_url(code) for code, _ in pairs)


def test_links_shorten_leaves_short_links_and_overlong_urls_alone():
    own = link_url("abcdefghijkl")
    long = "https://a.example/" + "x" * 2000
    assert links_shorten(f"{own} {long}") == (f"{own} {long}", [])
    assert links_shorten("nothing to shorten") == ("nothing to shorten", [])


# Clicks ------------------------------------------------------------------------------------


def test_a_click_redirects_and_is_counted(campaign):
    link = short_link(campaign, "https://shop.example.com/spring?utm=sms")
    before = timezone.now()
    response = Client().get(f"/l/{link.code}", HTTP_USER_AGENT=UA)
    assert response.status_code == 302
    assert response["Location"] == "https://shop.example.com/spring?utm=sms"
    assert "no-cache" in response["Cache-Control"]  # a repeat click comes back to us
    link.refresh_from_db()
    assert link.clicks == 1
    assert before <= link.first_clicked_at <= timezone.now()
    [click] = LinkClick.objects.filter(link=link)
    assert click.user_agent == UA
    assert click.clicked_at == link.first_clicked_at


def test_a_second_click_counts_but_keeps_the_first_click_time(campaign):
    link = short_link(campaign)
    first = timezone.now() - timedelta(hours=1)
    assert link_click(code=link.code, user_agent="a", now=first) == link.url
    assert link_click(code=link.code, user_agent="b", now=first + timedelta(minutes=5))
    link.refresh_from_db()
    assert (link.clicks, link.first_clicked_at) == (2, first)
    assert list(LinkClick.objects.filter(link=link).values_list("user_agent", "clicked_at")) == [
        ("b", first + timedelta(minutes=5)),
        ("a", first),
    ]


def test_a_click_logged_late_with_an_earlier_time_becomes_the_first(campaign):
    link = short_link(campaign)
    first = timezone.now() - timedelta(hours=1)
    link_click(code=link.code, user_agent="a", now=first)
    link_click(code=link.code, user_agent="b", now=first - timedelta(seconds=1))
    link.refresh_from_db()
    assert link.first_clicked_at == first - timedelta(seconds=1)


def test_a_long_user_agent_is_cut_and_a_missing_one_is_blank(campaign):
    link = short_link(campaign)
    Client().get(f"/l/{link.code}", HTTP_USER_AGENT="x" * 1000)
    Client().get(f"/l/{link.code}")
    assert sorted(len(ua) for ua in LinkClick.objects.values_list("user_agent", flat=True)) == [
        0,
        400,
    ]


@pytest.mark.parametrize("path", ["/l/nope", "/l/" + "a" * 40, "/l/", "/l/a.b"])
def test_an_unknown_code_is_404_and_counts_nothing(campaign, path):
    link = short_link(campaign, code="knowncode123")
    assert Client().get(path).status_code == 404
    assert link_click(code="nope", user_agent=UA) is None
    link.refresh_from_db()
    assert link.clicks == 0 and not LinkClick.objects.exists()


def test_head_redirects_without_counting_a_click(campaign):
    link = short_link(campaign)
    response = Client().head(f"/l/{link.code}")
    assert response.status_code == 302 and response["Location"] == link.url
    assert Client().head("/l/unknowncode1").status_code == 404
    link.refresh_from_db()
    assert link.clicks == 0 and link.first_clicked_at is None
    assert not LinkClick.objects.exists()


def test_other_methods_are_refused(campaign):
    link = short_link(campaign)
    assert Client().post(f"/l/{link.code}").status_code == 405
    link.refresh_from_db()
    assert link.clicks == 0


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html,hi", "//evil.example/x", "ftp://a.example/x"]
)
def test_only_http_urls_are_redirected_to(campaign, url):
    link = short_link(campaign, url)
    assert Client().get(f"/l/{link.code}").status_code == 404
    assert Client().head(f"/l/{link.code}").status_code == 404
    link.refresh_from_db()
    assert link.clicks == 0 and not LinkClick.objects.exists()


def test_the_redirect_needs_no_login_and_no_api_key(org, campaign):
    link = short_link(campaign)
    assert Client().get(f"/l/{link.code}", HTTP_AUTHORIZATION="Bearer wrong").status_code == 302


@pytest.mark.django_db(transaction=True)
def test_concurrent_clicks_all_count():
    org = Organization.objects.create(name="Acme", slug="acme")
    link = short_link(CampaignFactory(organization=org))
    start = threading.Barrier(8)

    def click():
        try:
            start.wait(10)
            for _ in range(5):
                assert link_click(code=link.code, user_agent=UA) == link.url
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    link.refresh_from_db()
    assert link.clicks == 40 and LinkClick.objects.filter(link=link).count() == 40
    assert link.first_clicked_at == LinkClick.objects.order_by("clicked_at")[0].clicked_at


# Stats -------------------------------------------------------------------------------------


def test_campaign_link_stats_per_campaign_and_organization(campaign, other_campaign):
    second = message_new(campaign)
    a1 = short_link(campaign, "https://a.example/1", message=second)
    a2 = short_link(campaign, "https://a.example/2", message=second)
    b = short_link(campaign, "https://b.example")
    short_link(campaign, "https://never.example")  # sent, never clicked
    campaign_wide = short_link(campaign, "https://c.example", campaign_wide=True)
    theirs = short_link(other_campaign, "https://a.example/1")
    for link in (a1, a1, a2, b, campaign_wide, theirs, theirs, theirs):
        assert Client().get(f"/l/{link.code}").status_code == 302

    assert campaign_link_stats(campaign=campaign) == {
        "clicks": 5,
        "links_clicked": 4,
        "messages_clicked": 2,  # `second` (twice over) and b's message
    }
    assert campaign_link_stats(campaign=other_campaign) == {
        "clicks": 3,
        "links_clicked": 1,
        "messages_clicked": 1,
    }


def test_campaign_link_stats_of_a_campaign_without_clicks(campaign, other_campaign):
    short_link(other_campaign)
    assert campaign_link_stats(campaign=campaign) == {
        "clicks": 0,
        "links_clicked": 0,
        "messages_clicked": 0,
    }
