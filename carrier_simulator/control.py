"""The simulator's own routes under `/_sim/`: scenario, stats, reset, inbound texts, replies,
TwiML updates.

They take no auth: the simulator listens on loopback by default and is a test double.
"""

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from carrier_simulator.inbound import InboundText, receive
from carrier_simulator.runtime import Runtime
from carrier_simulator.scenario import Scenario, ScenarioError


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


class Control:
    def __init__(self, rt: Runtime, reset: Callable[[], Awaitable[None]]):
        self.rt = rt
        self._reset = reset

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/_sim/health", self.health),
            web.get("/_sim/scenario", self.get_scenario),
            web.put("/_sim/scenario", self.put_scenario),
            web.get("/_sim/stats", self.stats),
            web.post("/_sim/reset", self.reset),
            web.post("/_sim/inbound", self.inbound),
            web.get("/_sim/replies", self.replies),
            web.get("/_sim/twiml-updates", self.twiml_updates),
        ]

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "callbacks_pending": self.rt.dispatcher.pending})

    async def get_scenario(self, request: web.Request) -> web.Response:
        return web.json_response(self.rt.scenario.to_dict())

    async def put_scenario(self, request: web.Request) -> web.Response:
        """Replace the scenario (absent keys take their defaults)."""
        try:
            scenario = Scenario.from_dict(await request.json())
        except json.JSONDecodeError as exc:
            return _bad(f"the scenario is not valid JSON: {exc}")
        except ScenarioError as exc:
            return _bad(str(exc))
        self.rt.use_scenario(scenario)
        return web.json_response(scenario.to_dict())

    async def stats(self, request: web.Request) -> web.Response:
        raw = request.query.get("limit", "")
        if raw and not raw.isdigit():
            return _bad("limit: expected a non-negative integer")
        stats = self.rt.stats.to_dict(
            limit=int(raw) if raw else None, opted_out_pairs=len(self.rt.store.opt_outs)
        )
        return web.json_response(stats)

    async def reset(self, request: web.Request) -> web.Response:
        """Forget every call, message, opt-out, reply and counter; keep the scenario."""
        await self._reset()
        return web.json_response({"ok": True})

    async def inbound(self, request: web.Request) -> web.Response:
        """A person (From) texts one of our numbers (To); form or JSON body."""
        data = await _fields(request)
        missing = [name for name in ("From", "To", "Body") if not isinstance(data.get(name), str)]
        if missing:
            return _bad(f"missing field(s): {', '.join(missing)}")
        account = data.get("AccountSid") or next(iter(self.rt.accounts))
        if account not in self.rt.accounts:
            return _bad(f"unknown AccountSid {account}")
        url = data.get("Url") or None
        if url is not None and not str(url).startswith(("http://", "https://")):
            return _bad("Url: expected an http(s) URL")
        text = InboundText(
            from_=data["From"],
            to=data["To"],
            body=data["Body"],
            account_sid=account,
            messaging_service_sid=data.get("MessagingServiceSid") or None,
            url=url,
        )
        return web.json_response(receive(self.rt, text), status=201)

    async def replies(self, request: web.Request) -> web.Response:
        return web.json_response({"replies": list(self.rt.store.replies)})

    async def twiml_updates(self, request: web.Request) -> web.Response:
        """The TwiML (or Url) live calls were updated with, oldest first (the last 1,000)."""
        return web.json_response({"twiml_updates": list(self.rt.store.twiml_updates)})


async def _fields(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        try:
            data = await request.json()
        except json.JSONDecodeError:
            return {}
        return data if isinstance(data, dict) else {}
    return dict(await request.post())
