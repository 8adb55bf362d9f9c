"""The web tier's ASGI application: the carrier's webhooks on the event loop, Django beside it.

gunicorn runs it with uvicorn workers (`config/gunicorn.py`). A callback the door takes as it
is (`webhooks.door_kind`) is checked on the loop (`webhooks.door_verify`) and stored by the
process's `InboxWriter`, which commits the rows of every request that arrived while the
previous INSERT was in flight in one statement (a group commit): under load one round trip
and one commit serve many callbacks, and an idle door still writes each at once. A request is
answered only once its row is committed, so an answered callback is never lost. Everything
else, and every request when the database is not PostgreSQL, goes to Django's WSGI
application in a thread pool (WEB_THREADS threads).
"""

import asyncio
import json
import logging

import psycopg
from django.db import connections
from django.utils import timezone

from messaging.models import WebhookEvent
from messaging.webhooks import Callback, door_kind, door_verify, stored

log = logging.getLogger(__name__)

_INSERT = f"""
INSERT INTO {WebhookEvent._meta.db_table}
       (kind, sid, dedupe_key, sequence, payload, received_at, outcome)
SELECT kind, sid, dedupe_key, sequence, payload::jsonb, %s, ''
  FROM unnest(%s::text[], %s::text[], %s::text[], %s::int[], %s::text[])
       AS t(kind, sid, dedupe_key, sequence, payload)
    ON CONFLICT (dedupe_key) DO NOTHING
"""


class InboxWriter:
    """Inbox rows from concurrent requests, written together on one connection."""

    def __init__(self) -> None:
        self._waiting: list[tuple[Callback, asyncio.Future]] = []
        self._writing = False
        self._connection: psycopg.AsyncConnection | None = None

    async def store(self, callback: Callback) -> None:
        """Returns once the callback's row is committed (or was there already)."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((callback, done))
        if not self._writing:
            self._writing = True
            asyncio.get_running_loop().create_task(self._write())
        await done

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def _write(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    await self._insert([callback for callback, _ in batch])
                except Exception as exc:  # the whole batch is refused; the carrier sees a 500
                    await self.close()
                    for _, done in batch:
                        done.set_exception(exc)
                else:
                    for _, done in batch:
                        done.set_result(None)
        finally:
            self._writing = False

    async def _insert(self, rows: list[Callback]) -> None:
        if self._connection is None or self._connection.closed:
            self._connection = await psycopg.AsyncConnection.connect(
                **_connection_params(), autocommit=True
            )
        await self._connection.execute(
            _INSERT,
            [
                timezone.now(),
                [r.kind for r in rows],
                [r.sid for r in rows],
                [r.dedupe_key for r in rows],
                [r.sequence for r in rows],
                [json.dumps(r.payload) for r in rows],
            ],
        )


def _connection_params() -> dict:
    """Django's own connection parameters for the default database, as psycopg takes them."""
    params = connections["default"].get_connection_params()
    for key in ("context", "cursor_factory", "prepare_threshold"):
        params.pop(key, None)
    return params


class WebhookIngress:
    """ASGI: the carrier's webhooks here, everything else to `app` (Django, ASGI-wrapped)."""

    def __init__(self, app) -> None:
        self.app = app
        self.writer = InboxWriter()
        self._postgres = connections["default"].vendor == "postgresql"

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        kind = None
        if scope["type"] == "http" and self._postgres:
            headers = dict(scope["headers"])
            kind = door_kind(
                scope["method"],
                scope["path"],
                headers.get(b"content-type", b"").decode("latin-1"),
                headers.get(b"content-length", b"").decode("latin-1"),
            )
        if kind is None:
            await self.app(scope, receive, send)
            return
        status, content_type, body = await self._receive(kind, scope, headers, receive)
        response = [(b"content-length", str(len(body)).encode())]
        if content_type:
            response.append((b"content-type", content_type.encode()))
        await send({"type": "http.response.start", "status": status, "headers": response})
        await send({"type": "http.response.body", "body": body})

    async def _receive(self, kind: str, scope, headers: dict, receive) -> tuple[int, str, bytes]:
        body = await _body(receive, int(headers[b"content-length"]))
        if body is None:
            return 400, "text/plain", b"the body is shorter than its Content-Length"
        checked = door_verify(
            kind,
            host=headers.get(b"host", b"").decode("latin-1"),
            path=scope.get("root_path", "") + scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            body=body,
            signature=headers.get(b"x-twilio-signature", b"").decode("latin-1"),
        )
        if not isinstance(checked, Callback):
            return checked
        try:
            await self.writer.store(checked)
        except Exception:
            log.exception("webhook %s failed", kind)
            return 500, "text/plain", b"server error"
        return stored(kind, on_commit=False)

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.writer.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _body(receive, length: int) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > length:
            return None
        if not message.get("more_body"):
            break
    return b"".join(chunks) if size == length else None
