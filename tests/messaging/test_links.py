"""Tracked links: URLs in a text become /l/<code>."""

import re

import pytest

from messaging.links import link_code_new, link_url, links_find, links_replace, links_shorten

BASE = "https://t.example.test"


@pytest.fixture(autouse=True)
def public_base_url(settings):
    settings.PUBLIC_BASE_URL = BASE


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
