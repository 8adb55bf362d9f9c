"""Writes for tenants and API keys."""

import hashlib
import secrets
import zoneinfo
from collections.abc import Iterable

import phonenumbers
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from config.bulk import sql_rows
from orgs.models import (
    ALL_SCOPES,
    CONCURRENCY_LIMIT_MAX,
    CONCURRENCY_LIMIT_MIN,
    ApiKey,
    Organization,
)

API_KEY_PREFIX_LEN = 8
CREDITS_ADD_MAX = 1_000_000_000  # segments one request may add
BLOCKED_WORDS_MAX = 500
BLOCKED_WORD_MAX_CHARS = 50


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def parse_scopes(text: str) -> list[str]:
    """`all` or a comma-separated list of known scopes; unknown ones raise ValidationError."""
    if text.strip() == "all":
        return list(ALL_SCOPES)
    scopes = [s.strip() for s in text.split(",") if s.strip()]
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown:
        raise ValidationError(
            f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(ALL_SCOPES)}, or 'all'."
        )
    if not scopes:
        raise ValidationError("At least one scope is required.")
    return sorted(set(scopes))


def org_create(
    *,
    name: str,
    slug: str,
    concurrency_limit: int = 10,
    default_region: str = "US",
    default_timezone: str = "America/New_York",
) -> Organization:
    org = Organization(
        name=name,
        slug=slug,
        concurrency_limit=concurrency_limit,
        default_region=default_region.upper(),
        default_timezone=default_timezone,
    )
    errors: dict[str, list[str]] = {}
    try:
        org.full_clean()
    except ValidationError as exc:
        errors = exc.message_dict
    if org.default_region not in phonenumbers.SUPPORTED_REGIONS:
        errors.setdefault("default_region", []).append("Not a known region code (e.g. US, GB).")
    if org.default_timezone not in zoneinfo.available_timezones():
        errors.setdefault("default_timezone", []).append("Not an IANA time zone.")
    if errors:
        raise ValidationError(errors)
    org.save()
    return org


def org_set_concurrency_limit(*, org: Organization, limit: int) -> Organization:
    if not CONCURRENCY_LIMIT_MIN <= limit <= CONCURRENCY_LIMIT_MAX:
        raise ValidationError(
            {
                "concurrency_limit": f"Must be between {CONCURRENCY_LIMIT_MIN} and "
                f"{CONCURRENCY_LIMIT_MAX}."
            }
        )
    Organization.objects.filter(pk=org.pk).update(concurrency_limit=limit)
    org.concurrency_limit = limit
    return org


def credits_add(*, org: Organization, segments: int) -> int:
    """Add `segments` to the organization's SMS credit; returns the new balance.

    One UPDATE that returns the new balance: the engine takes credit at the same time, so the
    balance is never read, changed and written back, and what it returns is this addition's
    result.
    """
    if not 1 <= segments <= CREDITS_ADD_MAX:
        raise ValidationError({"add": [f"Add between 1 and {CREDITS_ADD_MAX:,} segments."]})
    ((balance,),) = sql_rows(
        f"UPDATE {Organization._meta.db_table} SET sms_credits = sms_credits + %s "
        "WHERE id = %s RETURNING sms_credits",
        [segments, org.pk],
    )
    org.sms_credits = balance
    return balance


def credits_return(*, org_id: int, segments: int) -> None:
    """Give back segments taken for texts the carrier never had (one UPDATE, as credits_add)."""
    if segments:
        Organization.objects.filter(pk=org_id).update(sms_credits=F("sms_credits") + segments)


def blocked_words_clean(words: Iterable[str]) -> list[str]:
    """Words trimmed, repeats (ignoring case) dropped keeping the first; each 1-50 characters,
    at most 500 of them, or ValidationError naming what is wrong."""
    kept: dict[str, str] = {}
    for raw in words:
        word = raw.strip() if isinstance(raw, str) else ""
        if not 1 <= len(word) <= BLOCKED_WORD_MAX_CHARS:
            raise ValidationError(
                f"Each word has 1-{BLOCKED_WORD_MAX_CHARS} characters (trimmed): {raw!r} does not."
            )
        kept.setdefault(word.casefold(), word)
    if len(kept) > BLOCKED_WORDS_MAX:
        raise ValidationError(f"At most {BLOCKED_WORDS_MAX} words; these are {len(kept)}.")
    return list(kept.values())


def org_set_blocked_words(*, org: Organization, words: Iterable[str]) -> list[str]:
    """Replace the words no campaign text of the organization may contain (cleaned first;
    ValidationError on `blocked_words`)."""
    try:
        cleaned = blocked_words_clean(words)
    except ValidationError as exc:
        raise ValidationError({"blocked_words": exc.messages}) from None
    Organization.objects.filter(pk=org.pk).update(blocked_words=cleaned)
    org.blocked_words = cleaned
    return cleaned


def api_key_create(*, org: Organization, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
    """Create a key; returns it with the raw secret, which is never stored and shown once."""
    unknown = set(scopes) - set(ALL_SCOPES)
    if unknown:
        raise ValidationError(f"Unknown scope(s): {', '.join(sorted(unknown))}")
    with transaction.atomic():
        while True:
            prefix = secrets.token_hex(API_KEY_PREFIX_LEN // 2)
            if not ApiKey.objects.filter(prefix=prefix).exists():
                break
        raw = f"ob_{prefix}_{secrets.token_urlsafe(32)}"
        key = ApiKey.objects.create(
            organization=org,
            name=name,
            prefix=prefix,
            hashed_key=hash_api_key(raw),
            scopes=sorted(set(scopes)),
        )
    return key, raw


def api_key_revoke(*, key: ApiKey) -> bool:
    """Revoke a key; returns False when it was already revoked."""
    now = timezone.now()
    updated = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now)
    if updated:
        key.revoked_at = now
    return bool(updated)


def api_key_touch(*, key: ApiKey, min_interval_seconds: int = 60) -> None:
    """Record use at most once a minute per key, so authentication costs no write per request."""
    now = timezone.now()
    if key.last_used_at and (now - key.last_used_at).total_seconds() < min_interval_seconds:
        return
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    key.last_used_at = now
