"""Events: what happened to a campaign, appended to Redis streams for the live feed.

Each event goes to the stream of its campaign and of its organization, trimmed to about
EVENTS_STREAM_MAXLEN entries. Events are written after the transaction that caused them
commits, so a rolled-back change never shows; losing Redis loses the feed, never state.
"""

import functools
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


# Appends a batch of events: ARGV[1] the streams' approximate cap, ARGV[2] a JSON list of
# [[field, value, ...], [index of each stream in KEYS, ...]]. Encoding a batch once in JSON
# costs far less than packing two XADD commands per event.
_APPEND = """
local maxlen = ARGV[1]
local entries = cjson.decode(ARGV[2])
for _, entry in ipairs(entries) do
  for _, k in ipairs(entry[2]) do
    redis.call('XADD', KEYS[k], 'MAXLEN', '~', maxlen, '*', unpack(entry[1]))
  end
end
return #entries
"""


@functools.cache
def _append_script():
    return get_redis().register_script(_APPEND)


def _write(events) -> None:
    at = timezone.now().isoformat()
    keys: dict[str, int] = {}
    entries = []
    for type_, org_id, campaign_id, data in events:
        fields = [
            "type", type_, "at", at, "org", str(org_id), "campaign", str(campaign_id or ""),
            "data", json.dumps(data, default=str),
        ]  # fmt: skip
        streams = [org_stream(org_id)] + ([campaign_stream(campaign_id)] if campaign_id else [])
        entries.append([fields, [keys.setdefault(k, len(keys) + 1) for k in streams]])
    try:
        _append_script()(keys=list(keys), args=[settings.EVENTS_STREAM_MAXLEN, json.dumps(entries)])
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
