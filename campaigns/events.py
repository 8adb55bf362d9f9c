"""Events: what happened to a campaign, appended to Redis streams for the live feed.

Each event goes to the stream of its campaign and of its organization, trimmed to about
EVENTS_STREAM_MAXLEN entries. Events are written after the transaction that caused them
commits, so a rolled-back change never shows; losing Redis loses the feed, never state.
"""

import json
import logging

import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.redis import get_redis

log = logging.getLogger(__name__)


def campaign_stream(campaign_id: int) -> str:
    return f"outbound:events:campaign:{campaign_id}"


def org_stream(org_id: int) -> str:
    return f"outbound:events:org:{org_id}"


def events_emit(events: list[tuple[str, int, int | None, dict]]) -> None:
    """Append (type, org id, campaign id, data) events once the current transaction commits."""
    if events:
        transaction.on_commit(lambda: _write(events))


def event_emit(type_: str, *, org_id: int, campaign_id: int | None = None, **data) -> None:
    events_emit([(type_, org_id, campaign_id, data)])


def _write(events) -> None:
    at = timezone.now().isoformat()
    maxlen = settings.EVENTS_STREAM_MAXLEN
    try:
        pipe = get_redis().pipeline(transaction=False)
        for type_, org_id, campaign_id, data in events:
            fields = {
                "type": type_,
                "at": at,
                "org": org_id,
                "campaign": campaign_id or "",
                "data": json.dumps(data, default=str),
            }
            pipe.xadd(org_stream(org_id), fields, maxlen=maxlen, approximate=True)
            if campaign_id:
                pipe.xadd(campaign_stream(campaign_id), fields, maxlen=maxlen, approximate=True)
        pipe.execute()
    except redis.RedisError as exc:  # the feed is best effort; state is in PostgreSQL
        log.warning("could not append %d events: %r", len(events), exc)


def events_read(stream: str, *, after: str = "0-0", count: int = 100) -> list[dict]:
    """Events of a stream after an id, oldest first, as dicts with their stream id."""
    out = []
    for entry_id, fields in get_redis().xrange(stream, min=f"({after}", count=count):
        item = {k.decode(): v.decode() for k, v in fields.items()}
        item["data"] = json.loads(item["data"])
        item["id"] = entry_id.decode()
        out.append(item)
    return out
