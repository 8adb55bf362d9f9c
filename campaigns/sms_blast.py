"""A blast's start: validate it, evaluate its audience, write every text it will send.

The audience is worked out in one query: the campaign's queued prospects with their first
number, whether the organization suppressed that number (a STOP is an unsubscribe), and
whether it texted the number within the campaign's frequency cap. Those left out are
cancelled with the reason in `last_outcome`; the others get a variant (by a hash of the
campaign and prospect, so the split is stable), a rendered text whose URLs are short links, a
sender and a send time (the sender's and the pool's rate; the recipient's window), and are
written in bulk as queued messages. Nothing is written when the campaign is invalid.
"""

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import BooleanField, Exists, OuterRef, Q, Subquery, Value
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.sms_senders import Scheduler, pool_senders
from config.bulk import rows_insert
from messaging.links import links_shorten
from messaging.models import Message, MessageShortLink, MessageVariant
from messaging.sms_text import MissingValue, segments_count, template_render
from orgs.api.errors import DomainError
from prospects import windows
from prospects.models import Prospect, ProspectPhone, Suppression
from prospects.phones import nanp_deciding_prefix

INSERT_CHUNK = 5_000
_SENT_OR_PENDING = Q(status__in=["queued", "sending", "sent", "delivered"]) | Q(submitted=True)


class BlastInvalid(DomainError):
    """The blast cannot start as configured (HTTP 400): nothing was written."""

    def __init__(self, message: str, *, field: str = ""):
        self.field = field
        extra = {"field": field} if field else {}
        super().__init__(message, code="blast_invalid", status_code=400, extra=extra)


@dataclass(frozen=True)
class _Row:
    id: int
    first_name: str
    last_name: str
    email: str
    attributes: dict | None
    timezone: str
    e164: str | None
    suppressed: str | None  # the suppression's reason
    capped: bool
    sticky: int | None


def blast_prepare(*, campaign: Campaign, now: datetime | None = None) -> dict[str, int]:
    """Write the blast's messages; returns the audience counts (also kept on the campaign).
    Runs inside the start's transaction; raises BlastInvalid before writing anything."""
    now = now or timezone.now()
    variants = list(MessageVariant.objects.filter(campaign=campaign).order_by("position", "id"))
    _check_variants(variants)
    senders = pool_senders(campaign.sender_pool)
    if not senders:
        raise BlastInvalid(
            "The sender pool has no active SMS-enabled caller ID." if campaign.sender_pool_id
            else "Choose a sender pool for the campaign.",
            field="sender_pool",
        )  # fmt: skip
    rows = _audience(campaign, [s.id for s in senders], now)
    if not rows:
        raise BlastInvalid("The audience is empty: the campaign has no queued prospects.")
    counts: Counter = Counter()
    included: list[_Row] = []
    excluded: dict[str, list[int]] = {}
    for row in rows:
        reason = _exclusion(row)
        if reason:
            excluded.setdefault(reason, []).append(row.id)
            counts[reason] += 1
        else:
            included.append(row)
    texts = _render_all(campaign, variants, included)
    scheduler = Scheduler(senders, now, campaign.sender_pool.rate_per_minute)
    opens = _window_opens(campaign, included, now)
    messages, links = [], []
    for row, (variant, body) in zip(included, texts, strict=True):
        body, row_links = links_shorten(body)
        seg = segments_count(body)
        not_before = opens.get(row.id, now)
        if not_before > now:
            counts["waiting_for_window"] += 1
        sender, send_at = scheduler.assign(row.e164, seg.segments, row.sticky, not_before)
        messages.append(
            {
                "organization_id": campaign.organization_id,
                "campaign_id": campaign.id,
                "prospect_id": row.id,
                "variant_id": variant.id,
                "to": row.e164,
                "sender_id": sender.id,
                "from_number": sender.e164,
                "body": body,
                "segments": seg.segments,
                "encoding": seg.encoding,
                "send_at": send_at,
                "created_at": now,
                "updated_at": now,
            }
        )
        links.append(row_links)
    counts["queued"] = len(messages)
    with transaction.atomic():
        _write(campaign, messages, links, now)
        for reason, ids in excluded.items():
            Prospect.objects.filter(id__in=ids, status=Prospect.Status.QUEUED).update(
                status=Prospect.Status.CANCELLED, last_outcome=reason, updated_at=now
            )
        Prospect.objects.filter(id__in=[r.id for r in included]).update(
            status=Prospect.Status.SENDING, updated_at=now
        )
        audience = {"evaluated": len(rows), **counts}
        Campaign.objects.filter(pk=campaign.pk).update(audience=audience)
    return audience


def variant_pick(campaign_id: int, prospect_id: int, variants: list) -> object:
    """The prospect's variant: a stable hash of campaign and prospect onto the percentages."""
    digest = hashlib.blake2b(f"{campaign_id}:{prospect_id}".encode(), digest_size=8).digest()
    point = int.from_bytes(digest, "big") % 10_000  # in hundredths of a percent
    edge = 0
    for variant in variants:
        edge += variant.percentage * 100
        if point < edge:
            return variant
    return variants[-1]


def _check_variants(variants: list[MessageVariant]) -> None:
    if not variants:
        raise BlastInvalid(
            "The campaign has no message: add at least one variant.", field="variants"
        )
    total = sum(v.percentage for v in variants)
    if total != 100:
        raise BlastInvalid(
            f"The variants' percentages add up to {total}, not 100.", field="variants"
        )
    empty = [v.name for v in variants if not v.body.strip()]
    if empty:
        raise BlastInvalid(f"Variant {empty[0]} has no text.", field="variants")


def _audience(campaign: Campaign, sender_ids: list[int], now: datetime) -> list[_Row]:
    org = campaign.organization_id
    first_phone = ProspectPhone.objects.filter(prospect=OuterRef("pk")).order_by("position")
    suppression = Suppression.objects.filter(organization_id=org, e164=OuterRef("e164"))
    qs = (
        Prospect.objects.filter(campaign_id=campaign.id, status=Prospect.Status.QUEUED)
        .annotate(e164=Subquery(first_phone.values("e164")[:1]))
        .annotate(suppressed=Subquery(suppression.values("reason")[:1]))
        .annotate(
            sticky=Subquery(
                Message.objects.filter(
                    organization_id=org, to=OuterRef("e164"), sender_id__in=sender_ids
                )
                .order_by("-created_at")
                .values("sender_id")[:1]
            )
        )
    )
    if campaign.frequency_cap_hours:
        since = now - timedelta(hours=campaign.frequency_cap_hours)
        recent = Message.objects.filter(
            _SENT_OR_PENDING, organization_id=org, to=OuterRef("e164"), created_at__gte=since
        )
        qs = qs.annotate(capped=Exists(recent))
    else:
        qs = qs.annotate(capped=Value(False, output_field=BooleanField()))
    fields = ("id", "first_name", "last_name", "email", "attributes", "timezone", "e164")
    fields += ("suppressed", "capped", "sticky")
    return [_Row(*values) for values in qs.order_by("-priority", "id").values_list(*fields)]


def _exclusion(row: _Row) -> str:
    if not row.e164:
        return "invalid_number"
    if row.suppressed == Suppression.Reason.STOP:
        return "unsubscribed"
    if row.suppressed:
        return "suppressed"
    if row.capped:
        return "frequency_capped"
    return ""


def _render_all(campaign: Campaign, variants, rows: list[_Row]) -> list[tuple]:
    """Each prospect's variant and text; every placeholder without a value is reported,
    with how many prospects lack it, before anything is written."""
    out, missing = [], Counter()
    for row in rows:
        variant = variant_pick(campaign.id, row.id, variants)
        values = {k: str(v) for k, v in (row.attributes or {}).items() if v is not None}
        values.update(first_name=row.first_name, last_name=row.last_name, email=row.email)
        try:
            out.append((variant, template_render(variant.body, values)))
        except MissingValue as exc:
            missing[(variant.name, exc.name)] += 1
    if missing:
        (name, placeholder), n = missing.most_common(1)[0]
        others = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise BlastInvalid(
            f"Placeholder {{{placeholder}}} in variant {name} has no value for {n} "
            f"prospect(s) and no default; write {{{placeholder}|...}} to give one{others}.",
            field="variants",
        )
    return out


def _window_opens(campaign: Campaign, rows: list[_Row], now: datetime) -> dict[int, datetime]:
    """Prospects outside their texting window now: when it opens. Verdicts are shared by
    numbers whose deciding prefix and explicit zone are the same."""
    parsed = windows.parse_windows(campaign.calling_windows)
    cache: dict[tuple, datetime | None] = {}
    out = {}
    for row in rows:
        key = (nanp_deciding_prefix(row.e164) or row.e164, row.timezone)
        if key not in cache:
            verdict = windows.check(
                row.e164,
                now,
                channel="sms",
                policy=campaign.calling_policy,
                windows=parsed,
                explicit_tz=row.timezone,
            )
            cache[key] = (
                None if verdict.allowed else (verdict.next_allowed_at or now + timedelta(hours=1))
            )
        if cache[key] is not None:
            out[row.id] = cache[key]
    return out


def _write(campaign: Campaign, messages: list[dict], links: list[list], now: datetime) -> None:
    for start in range(0, len(messages), INSERT_CHUNK):
        chunk = messages[start : start + INSERT_CHUNK]
        ids = rows_insert(Message, chunk)
        link_rows = [
            {
                "organization_id": campaign.organization_id,
                "campaign_id": campaign.id,
                "message_id": message_id,
                "code": code,
                "url": url,
                "created_at": now,
            }
            for message_id, row_links in zip(ids, links[start : start + INSERT_CHUNK], strict=True)
            for code, url in row_links
        ]
        rows_insert(MessageShortLink, link_rows)
