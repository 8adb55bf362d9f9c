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
import functools
import json
import logging
import time

import psycopg
from django.db import connections
from django.utils import timezone

from messaging.models import WebhookEvent
from messaging.services import INBOX_DEBOUNCE_MS
from messaging.webhooks import Callback, answer, door_kind, door_verify, schedule_apply

log = logging.getLogger(__name__)
WRITE_TIMEOUT_SECONDS = 10  # a connection that went silent is given up on (a 500, a new one)

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
        self._task: asyncio.Task | None = None
        self._connection: psycopg.AsyncConnection | None = None

    async def store(self, callback: Callback) -> None:
        """Returns once the callback's row is committed (or was there already); raises when it
        could not be written."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((callback, done))
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._write())
        await done

    async def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await connection.close()

    async def _write(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                outcomes: list[BaseException | None] = [None] * len(batch)
                try:
                    outcomes = await self._insert([callback for callback, _ in batch])
                except BaseException as exc:  # refused, or the writer cancelled: a 500 each
                    outcomes = [exc] * len(batch)
                    await self.close()
                    if not isinstance(exc, Exception):
                        raise
                finally:
                    for (_, done), outcome in zip(batch, outcomes, strict=True):
                        if done.done():  # its request went away
                            continue
                        if outcome is None:
                            done.set_result(None)
                        elif isinstance(outcome, Exception):
                            done.set_exception(outcome)
                        else:
                            done.cancel()
        finally:
            self._task = None
            waiting, self._waiting = self._waiting, []
            for _, done in waiting:  # only when the writer itself was stopped
                if not done.done():
                    done.set_exception(RuntimeError("the inbox writer stopped"))

    async def _insert(self, rows: list[Callback]) -> list[BaseException | None]:
        """One statement for all; a connection that failed is replaced and the statement tried
        once more (ON CONFLICT makes that safe); a row PostgreSQL refuses (a NUL in the form)
        fails alone. Returns each row's failure or None."""
        try:
            await self._execute(rows)
        except psycopg.OperationalError:
            await self.close()
            await self._execute(rows)
        except psycopg.DataError:
            outcomes: list[BaseException | None] = []
            for row in rows:
                try:
                    await self._execute([row])
                    outcomes.append(None)
                except psycopg.DataError as exc:
                    outcomes.append(exc)
            return outcomes
        return [None] * len(rows)

    async def _execute(self, rows: list[Callback]) -> None:
        async with asyncio.timeout(WRITE_TIMEOUT_SECONDS):
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
    """Django's own connection parameters for the default database, as psycopg takes them
    (its `prepare_threshold` too, which keeps connection poolers working)."""
    params = connections["default"].get_connection_params()
    for key in ("context", "cursor_factory"):
        params.pop(key, None)
    return params


class WebhookIngress:
    """ASGI: the carrier's webhooks here, everything else to `app` (Django, ASGI-wrapped)."""

    def __init__(self, app) -> None:
        self.app = app
        self.writer = InboxWriter()
        self._postgres = connections["default"].vendor == "postgresql"
        self._scheduled = 0.0

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
            path=scope["path"],  # uvicorn's path already starts with the root path
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
        self._schedule_apply()
        return answer(kind)

    def _schedule_apply(self) -> None:
        """The inbox's apply, scheduled from a thread, once per debounce window: the broker's
        client blocks, and a silent broker must not stall the loop."""
        now = time.monotonic()
        if now - self._scheduled < INBOX_DEBOUNCE_MS / 1000:
            return
        self._scheduled = now
        schedule = functools.partial(schedule_apply, on_commit=False)
        asyncio.get_running_loop().run_in_executor(None, schedule)

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
