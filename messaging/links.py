"""Tracked links: URLs in a text become /l/<code>, and a click is counted and redirected.

The text functions are pure (but for `PUBLIC_BASE_URL`); the send path calls `links_shorten`
per message and writes the `MessageShortLink` rows itself, in bulk with the messages. The
redirect view (`messaging.views.link_redirect`) calls `link_click`.
"""

import re
import secrets
from collections.abc import Iterator, Mapping
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from messaging.models import LinkClick, MessageShortLink

URL_MAX_LENGTH = MessageShortLink._meta.get_field("url").max_length
USER_AGENT_MAX_LENGTH = LinkClick._meta.get_field("user_agent").max_length
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


# Clicks ------------------------------------------------------------------------------------


def _is_http_url(url: str) -> bool:
    """Whether `url` is an absolute http(s) URL: the only kind a short link redirects to."""
    return url[:8].lower().startswith(("http://", "https://")) and bool(_netloc(url))


def link_target_get(*, code: str) -> str | None:
    """The URL `code` redirects to, or None for an unknown code or a URL that is not http(s)."""
    url = MessageShortLink.objects.filter(code=code).values_list("url", flat=True).first()
    return url if url is not None and _is_http_url(url) else None


def link_click(*, code: str, user_agent: str, now: datetime | None = None) -> str | None:
    """Count a click on `code` and return the URL to redirect to (None: unknown code).

    One UPDATE moves the counter with F() and sets `first_clicked_at` while it is null, so
    concurrent clicks never lose a count; the click is logged in the same transaction.
    `first_clicked_at` only ever moves earlier (two clicks may commit in the other order than
    their `now`), so it is always the earliest time in the click log. A link to anything but
    http(s) is treated as unknown.
    """
    now = now or timezone.now()
    row = MessageShortLink.objects.filter(code=code).values_list("id", "url").first()
    if row is None or not _is_http_url(row[1]):
        return None
    link_id, url = row
    with transaction.atomic():
        counted = MessageShortLink.objects.filter(pk=link_id).update(
            clicks=F("clicks") + 1,
            first_clicked_at=Least(Coalesce(F("first_clicked_at"), Value(now)), Value(now)),
        )
        if not counted:  # deleted since it was read (its campaign was)
            return None
        LinkClick.objects.create(
            link_id=link_id, clicked_at=now, user_agent=user_agent[:USER_AGENT_MAX_LENGTH]
        )
    return url
