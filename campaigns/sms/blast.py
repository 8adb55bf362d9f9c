"""A blast's start: validate it, evaluate its audience, write every text it will send.

The audience is worked out in one query: the campaign's queued prospects with their first
number, whether the organization suppressed that number (a STOP is an unsubscribe), and
whether it texted the number within the campaign's frequency cap. Those left out are
cancelled with the reason in `last_outcome`; the others get a variant (by a hash of the
campaign and prospect, so the split is stable), a rendered text whose URLs are short links, a
sender and a send time (the sender's and the pool's rate; the recipient's window), and are
written in bulk as queued messages. Nothing is written when the campaign is invalid.

A drip (campaigns.sms.drip) is checked the same way at its start, and texts one prospect at a
time with the same steps: the audience query, the exclusions, the render, the message row.
"""

import hashlib
from collections import Counter
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.sms.senders import Scheduler, SenderInfo, pool_senders
from config.bulk import rows_insert
from config.errors import DomainError
from messaging.links import links_shorten
from messaging.models import Message, MessageShortLink, MessageVariant
from messaging.sms_text import MissingValue, segments_count, template_render
from prospects import windows
from prospects.models import Prospect, ProspectPhone, Suppression
from prospects.phones import nanp_deciding_prefix

INSERT_CHUNK = 5_000
_M = Message.Status
_SENT_OR_PENDING = Q(status__in=[_M.QUEUED, _M.SENDING, _M.SENT, _M.DELIVERED]) | Q(submitted=True)


class BlastInvalid(DomainError):
    """The blast cannot start as configured (HTTP 400): nothing was written."""

    def __init__(self, message: str, *, field: str = ""):
        self.field = field
        extra = {"field": field} if field else {}
        super().__init__(message, code="blast_invalid", status_code=400, extra=extra)


@dataclass(frozen=True)
class AudienceRow:
    """A queued prospect as its text needs it: who, which number, and what may keep it out."""

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


_ROW_FIELDS = tuple(f.name for f in fields(AudienceRow))


@dataclass
class Audience:
    """A campaign checked and its audience evaluated: nothing written yet."""

    variants: list[MessageVariant]
    senders: list[SenderInfo]
    rows: list[AudienceRow]
    included: list[AudienceRow]
    excluded: dict[str, list[int]]  # reason -> prospect ids
    texts: list[tuple]  # (variant, body) of each included row, in order


def audience_evaluate(*, campaign: Campaign, now: datetime) -> Audience:
    """Check the campaign's message and senders, evaluate its queued prospects and render
    each included one's text. Raises BlastInvalid (naming what is wrong); writes nothing."""
    variants = list(MessageVariant.objects.filter(campaign=campaign).order_by("position", "id"))
    _check_variants(variants)
    senders = pool_senders(campaign.sender_pool)
    if not senders:
        raise BlastInvalid(
            "The sender pool has no active SMS-enabled caller ID." if campaign.sender_pool_id
            else "Choose a sender pool for the campaign.",
            field="sender_pool",
        )  # fmt: skip
    rows = audience_rows(audience_query(campaign, [s.id for s in senders], now))
    if not rows:
        raise BlastInvalid("The audience is empty: the campaign has no queued prospects.")
    included: list[AudienceRow] = []
    excluded: dict[str, list[int]] = {}
    for row in rows:
        reason = exclusion(row)
        if reason:
            excluded.setdefault(reason, []).append(row.id)
        else:
            included.append(row)
    texts = _render_all(campaign, variants, included)
    return Audience(variants, senders, rows, included, excluded, texts)


def blast_prepare(*, campaign: Campaign, now: datetime | None = None) -> dict[str, int]:
    """Write the blast's messages; returns the audience counts (also kept on the campaign).
    Runs inside the start's transaction; raises BlastInvalid before writing anything."""
    now = now or timezone.now()
    audience = audience_evaluate(campaign=campaign, now=now)
    included = audience.included
    counts: Counter = Counter({reason: len(ids) for reason, ids in audience.excluded.items()})
    scheduler = Scheduler(audience.senders, now, campaign.sender_pool.rate_per_minute)
    opens = window_opens(campaign, included, now)
    messages, links = [], []
    for row, (variant, body) in zip(included, audience.texts, strict=True):
        message, row_links = message_row(campaign, row, variant, body, now)
        not_before = opens.get(row.id, now) or now + timedelta(hours=1)
        if not_before > now:
            counts["waiting_for_window"] += 1
        sender, send_at = scheduler.assign(row.e164, message["segments"], row.sticky, not_before)
        message.update(sender_id=sender.id, from_number=sender.e164, send_at=send_at)
        messages.append(message)
        links.append(row_links)
    counts["queued"] = len(messages)
    with transaction.atomic():
        messages_write(campaign, messages, links, now)
        for reason, ids in audience.excluded.items():
            prospects_exclude(ids, reason, now)
        Prospect.objects.filter(id__in=[r.id for r in included]).update(
            status=Prospect.Status.SENDING, updated_at=now
        )
        result = {"evaluated": len(audience.rows), **counts}
        Campaign.objects.filter(pk=campaign.pk).update(audience=result)
    return result


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


def audience_query(campaign: Campaign, sender_ids: list[int], now: datetime) -> QuerySet:
    """The campaign's queued prospects, each with its first number, its suppression, whether
    the frequency cap holds it and the sender (of `sender_ids`) the org last texted it from.
    Callers order, narrow and lock it, then read it with `audience_rows`."""
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
        return qs.annotate(capped=Exists(recent))
    return qs.annotate(capped=Value(False, output_field=BooleanField()))


def audience_rows(qs: QuerySet) -> list[AudienceRow]:
    """An `audience_query` read in the order it has (priority, then id, when it has none)."""
    if not qs.query.order_by:
        qs = qs.order_by("-priority", "id")
    return [AudienceRow(*values) for values in qs.values_list(*_ROW_FIELDS)]


def exclusion(row: AudienceRow) -> str:
    """Why the prospect is left out of the audience ("" when it is not)."""
    if not row.e164:
        return "invalid_number"
    if row.suppressed == Suppression.Reason.STOP:
        return "unsubscribed"
    if row.suppressed:
        return "suppressed"
    if row.capped:
        return "frequency_capped"
    return ""


def prospects_exclude(ids: list[int], reason: str, now: datetime) -> int:
    """Prospects left out of the audience: cancelled, with the reason as their outcome."""
    return Prospect.objects.filter(id__in=ids, status=Prospect.Status.QUEUED).update(
        status=Prospect.Status.CANCELLED, last_outcome=reason, updated_at=now
    )


def text_render(campaign: Campaign, variants: list, row: AudienceRow) -> tuple:
    """The prospect's (variant, text); raises MissingValue for a placeholder without value."""
    variant = variant_pick(campaign.id, row.id, variants)
    values = {k: str(v) for k, v in (row.attributes or {}).items() if v is not None}
    values.update(first_name=row.first_name, last_name=row.last_name, email=row.email)
    return variant, template_render(variant.body, values)


def _render_all(campaign: Campaign, variants, rows: list[AudienceRow]) -> list[tuple]:
    """Each prospect's variant and text; every placeholder without a value is reported,
    with how many prospects lack it, before anything is written."""
    out, missing = [], Counter()
    for row in rows:
        try:
            out.append(text_render(campaign, variants, row))
        except MissingValue as exc:
            variant = variant_pick(campaign.id, row.id, variants)
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


class WindowVerdicts:
    """A campaign's texting-window verdicts at one moment (the start's and the executor's),
    shared by numbers whose deciding prefix and explicit zone are the same."""

    def __init__(self, campaign: Campaign, now: datetime):
        self._parsed = windows.parse_windows(campaign.calling_windows)
        self._policy = campaign.calling_policy
        self._now = now
        self._cache: dict[tuple[str, str], windows.Verdict] = {}

    def get(self, e164: str, zone: str = "") -> windows.Verdict:
        key = (nanp_deciding_prefix(e164) or e164, zone)
        verdict = self._cache.get(key)
        if verdict is None:
            verdict = self._cache[key] = windows.check(
                e164,
                self._now,
                channel="sms",
                policy=self._policy,
                windows=self._parsed,
                explicit_tz=zone,
            )
        return verdict


def window_opens(
    campaign: Campaign, rows: list[AudienceRow], now: datetime
) -> dict[int, datetime | None]:
    """Prospects outside their texting window now: when it opens (None: not within the
    horizon windows.check looks at, as for a number in no known zone)."""
    verdicts = WindowVerdicts(campaign, now)
    out: dict[int, datetime | None] = {}
    for row in rows:
        verdict = verdicts.get(row.e164, row.timezone)
        if not verdict.allowed:
            out[row.id] = verdict.next_allowed_at
    return out


def message_row(
    campaign: Campaign, row: AudienceRow, variant, body: str, now: datetime
) -> tuple[dict, list]:
    """The message to write for the prospect (its URLs short links, due now, no sender yet)
    and its links as (code, url); the caller sets `sender_id`, `from_number` and `send_at`."""
    body, links = links_shorten(body)
    seg = segments_count(body)
    message = {
        "organization_id": campaign.organization_id,
        "campaign_id": campaign.id,
        "prospect_id": row.id,
        "variant_id": variant.id,
        "to": row.e164,
        "sender_id": None,
        "from_number": "",
        "body": body,
        "segments": seg.segments,
        "encoding": seg.encoding,
        "send_at": now,
        "created_at": now,
        "updated_at": now,
    }
    return message, links


def messages_write(
    campaign: Campaign, messages: list[dict], links: list[list], now: datetime
) -> list[int]:
    """Insert the messages and their short links in bulk; returns the messages' ids."""
    written: list[int] = []
    for start in range(0, len(messages), INSERT_CHUNK):
        chunk = messages[start : start + INSERT_CHUNK]
        ids = rows_insert(Message, chunk)
        written += ids
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
    return written
