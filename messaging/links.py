"""Tracked links: URLs in a text become /l/<code>.

The text functions are pure (but for `PUBLIC_BASE_URL`); the send path calls `links_shorten`
per message and writes the `MessageShortLink` rows itself, in bulk with the messages.
"""

import re
import secrets
from collections.abc import Iterator, Mapping
from urllib.parse import urlsplit

from django.conf import settings

from messaging.models import MessageShortLink

URL_MAX_LENGTH = MessageShortLink._meta.get_field("url").max_length
CODE_BYTES = 9  # 72 random bits, 12 URL-safe characters

# A URL starts at http:// or https:// (any case, not inside a word) and runs to whitespace or
# an angle bracket; what ends a sentence after it is trimmed off (`_url_end`).
_URL = re.compile(r"\bhttps?://[^\s<>]+", re.IGNORECASE)
_TRAILING = frozenset(".,:;!?'\"…")
_CLOSERS = {")": "(", "]": "[", "}": "{"}


def _url_end(url: str) -> int:
    """Where the URL found as `url` really ends: sentence punctuation and closing brackets
    that the URL did not open are not part of it (`(see https://x.org/a_(b)).` keeps `(b)`)."""
    end = len(url)
    while end:
        last = url[end - 1]
        opener = _CLOSERS.get(last)
        if last in _TRAILING or (
            opener is not None and url.count(opener, 0, end) < url.count(last, 0, end)
        ):
            end -= 1
            continue
        break
    return end


def _netloc(url: str) -> str:
    try:
        return urlsplit(url).netloc
    except ValueError:  # e.g. an unclosed IPv6 bracket: not a link we can use
        return ""


def _url_spans(body: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each http(s) URL in `body` that names a host."""
    for match in _URL.finditer(body):
        start = match.start()
        end = start + _url_end(match.group())
        if _netloc(body[start:end]):
            yield start, end


def links_find(body: str) -> list[str]:
    """The http(s) URLs in `body`, each once, in order of first appearance."""
    return list(dict.fromkeys(body[start:end] for start, end in _url_spans(body)))


def link_code_new() -> str:
    """A new short-link code: random, unguessable, URL-safe, 12 characters.

    72 random bits: a collision with an existing code (the unique constraint would refuse it)
    is negligible at any number of messages this platform sends.
    """
    return secrets.token_urlsafe(CODE_BYTES)


def link_url(code: str) -> str:
    """The public short link of `code`."""
    return settings.PUBLIC_BASE_URL + "/l/" + code


def links_replace(body: str, codes_by_url: Mapping[str, str]) -> str:
    """`body` with each URL that has a code replaced by its short link (others kept)."""
    out: list[str] = []
    position = 0
    for start, end in _url_spans(body):
        code = codes_by_url.get(body[start:end])
        if code is not None:
            out += (body[position:start], link_url(code))
            position = end
    return "".join(out) + body[position:] if out else body


def links_shorten(body: str) -> tuple[str, list[tuple[str, str]]]:
    """`body` with its URLs replaced by new short links, and the (code, url) pairs to store.

    A URL that appears twice gets one code. Left as written: our own short links (a body is
    never shortened twice) and URLs longer than `MessageShortLink.url` holds.
    """
    own = link_url("")
    codes = {
        url: link_code_new()
        for url in links_find(body)
        if len(url) <= URL_MAX_LENGTH and not url.startswith(own)
    }
    if not codes:
        return body, []
    return links_replace(body, codes), [(code, url) for url, code in codes.items()]
