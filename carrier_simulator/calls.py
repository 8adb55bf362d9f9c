"""The call lifecycle: CPS queue, then initiated → ringing → in-progress → a terminal status.

A call moves one step at a time; each step emits its callback (when subscribed) and arms one
event-loop timer for the next, so steps can never overtake each other even at `time_scale` 0
(then the whole lifecycle runs at once, with no timers). Simulated seconds are multiplied by
`time_scale`; the CPS queue is real time.

The CPS queue is a token bucket per account at the scenario's `cps` (contract §6: 1 by
default); a create that finds more than 24 h of calls already queued is refused with 22005,
and a call that finds it empty, with a free slot, leaves it at once.
A call to an invalid number fails without ringing and logs error 13224; async AMD without its
callback logs warning 21262. Both go to the call's Notifications (Twilio's call log).

An update with `Twiml` or `Url` replaces what a live call plays (a voicemail drop, a
transfer): the call plays the new document and then ends `completed`.
"""

import asyncio
import math
from collections.abc import Callable
from typing import Any

from carrier_simulator.draw import SETUP_SECONDS
from carrier_simulator.formats import API_VERSION, rfc2822, sid
from carrier_simulator.resources import account_path
from carrier_simulator.runtime import Runtime
from carrier_simulator.state import CallRecord, Notification
from carrier_simulator.timing import Pacer, Steps
from carrier_simulator.twiml import DOCUMENT_PARSE_FAILURE, URL_SECONDS, play_seconds

TERMINAL = frozenset({"completed", "busy", "no-answer", "canceled", "failed"})
QUEUE_LIMIT_SECONDS = 86_400.0  # 24 h of calls at the account's CPS, then 22005
SIP_CODES = {"completed": 200, "busy": 486, "no-answer": 487, "canceled": 487}
FAILING_OUTCOMES = frozenset({"failed", "rejected", "invalid_number"})  # they never ring
ERROR, WARNING = 0, 1  # a Notification's `log`
INVALID_NUMBER = (13224, "Twilio does not support calling this number or the number is invalid.")
NO_AMD_CALLBACK = (
    21262,
    "Answering Machine Detection was enabled on this call, but no AMD status callback URL was "
    "provided. AMD results will still be available in the /Calls resource.",
)


class CallEngine:
    def __init__(self, rt: Runtime):
        self.rt = rt
        self.pacer = Pacer()
        self.steps = Steps()
        self._late_verdicts: dict[str, asyncio.TimerHandle] = {}  # by call sid

    def queue_full(self, account_sid: str) -> bool:
        """More than 24 h of calls already wait at the account's CPS (86,400 at 1 CPS)."""
        now = asyncio.get_running_loop().time()
        return self.pacer.backlog(account_sid, now) > QUEUE_LIMIT_SECONDS

    def queue(self, call: CallRecord) -> float:
        """Reserve the call's CPS slot and set `queue_time`; returns the wait in seconds."""
        now = asyncio.get_running_loop().time()
        wait = self.pacer.reserve(call.account_sid, rate=self.rt.scenario.cps, now=now)
        call.queue_time_ms = int(wait * 1000)
        return wait

    def place(self, call: CallRecord, wait: float) -> None:
        """Start a queued call's clock; `initiated` fires when it leaves the CPS queue. With no
        wait and no call queued before it, that is now (the create's answer is already built);
        otherwise an event-loop timer releases it, after the calls queued before it."""
        queued_before = self.rt.stats.calls_queued
        self.rt.stats.calls_queued += 1
        if wait <= 0 and not queued_before:
            self._dequeue(call)
        else:
            self.steps.later(call, wait, self._dequeue)

    def hang_up(self, call: CallRecord, requested: str) -> None:
        """`Status=canceled` ends a queued or ringing call; `completed` also ends a live one."""
        if call.status in TERMINAL:
            return
        if call.status == "in-progress":
            if requested == "completed":
                self.steps.cancel(call)
                self._end(call, "completed")
            return
        self.steps.cancel(call)
        if call.start_time is None:
            self.rt.stats.calls_queued -= 1
        self._end(call, "canceled")

    def redirect(self, call: CallRecord, *, twiml: str | None, url: str | None) -> None:
        """Replace an in-progress call's TwiML (`Url` wins over `Twiml`): it plays, then the
        call ends `completed`. An async AMD verdict still due is sent if it comes first."""
        now = self.rt.now()
        try:
            play_s = URL_SECONDS if url else play_seconds(twiml or "")
        except ValueError:
            self._log(call, ERROR, *DOCUMENT_PARSE_FAILURE)  # Twilio hangs up on it
            play_s = 0.0
        self.rt.stats.twiml_updates += 1
        self.rt.store.twiml_updates.append(
            {
                "sid": call.sid,
                "to": call.to,
                "from": call.from_,
                "twiml": None if url else twiml,
                "url": url,
                "at": rfc2822(now),
            }
        )
        elapsed = self._elapsed(call)
        call.talk_s, call.updated = elapsed + play_s, now
        self.steps.cancel(call)
        verdict_due = (
            call.options.amd_mode
            and call.options.async_amd
            and not call.answered_by
            and call.sid not in self._late_verdicts  # detection done: only the verdict is late
        )
        if verdict_due and call.plan.amd_s < call.talk_s:
            self._after(call, call.plan.amd_s - elapsed, self._amd_verdict)
        else:
            self._after(call, play_s, self._end, "completed")

    def reset(self) -> None:
        self.steps.reset()
        self.pacer.reset()
        for handle in self._late_verdicts.values():
            handle.cancel()
        self._late_verdicts.clear()

    # --- steps ---------------------------------------------------------------------------

    def _dequeue(self, call: CallRecord) -> None:
        self.rt.stats.calls_queued -= 1
        self.rt.stats.call_live(call.account_sid)
        call.start_time = call.updated = self.rt.now()
        self._emit(call, "initiated", "initiated")
        if call.plan.outcome in FAILING_OUTCOMES:
            self._after(call, SETUP_SECONDS, self._fail)
        else:
            self._after(call, SETUP_SECONDS, self._ring)

    def _fail(self, call: CallRecord) -> None:
        if call.plan.outcome == "invalid_number":
            self._log(call, ERROR, *INVALID_NUMBER)
        self._end(call, "failed")

    def _ring(self, call: CallRecord) -> None:
        call.status, call.updated = "ringing", self.rt.now()
        self._emit(call, "ringing", "ringing")
        outcome = call.plan.outcome
        if outcome == "busy":
            self._after(call, call.plan.ring_s, self._end, "busy")
        elif outcome == "no_answer":
            self._after(call, call.plan.ring_s, self._end, "no-answer")
        else:
            self._after(call, call.plan.ring_s, self._answer)

    def _answer(self, call: CallRecord) -> None:
        call.status = "in-progress"
        call.answered_at = call.updated = self.rt.now()
        self._emit(call, "answered", "in-progress")
        options, plan = call.options, call.plan
        if options.amd_mode and options.async_amd:
            self._after(call, plan.amd_s, self._amd_verdict)
            return
        if options.amd_mode:
            call.answered_by = plan.verdict  # sync AMD: known before the TwiML fetch
        self._after(call, plan.talk_s, self._end, "completed")

    def _amd_verdict(self, call: CallRecord) -> None:
        """Detection is done; the verdict is reached now, or `amd_verdict_delay_ms` (real
        time) later: past the call's end, `completed` goes without `AnsweredBy` and the
        verdict's callback comes after it, as Twilio's can."""
        low, high = self.rt.scenario.amd_verdict_delay_ms
        delay = self.rt.delivery_rng.uniform(low, high) / 1000.0 if high > 0 else 0.0
        if delay > 0 and call.options.amd_callback:
            loop = asyncio.get_running_loop()
            self._late_verdicts[call.sid] = loop.call_later(delay, self._reach_verdict, call)
        else:
            self._reach_verdict(call)
        self._after(call, self._talk_s(call) - call.plan.amd_s, self._end, "completed")

    def _reach_verdict(self, call: CallRecord) -> None:
        self._late_verdicts.pop(call.sid, None)
        call.answered_by = call.plan.verdict
        options = call.options
        if not options.amd_callback:
            self._log(call, WARNING, *NO_AMD_CALLBACK)  # the verdict has nowhere to go
        elif call.answered_by and not self.rt.dropping_callbacks():
            params = {
                "CallSid": call.sid,
                "AccountSid": call.account_sid,
                "AnsweredBy": call.answered_by,
                "MachineDetectionDuration": str(int(call.plan.amd_s * 1000)),
            }
            callback = self.rt.sign(
                kind="amd",
                account_sid=call.account_sid,
                url=options.amd_callback,
                method=options.amd_callback_method,
                params=params,
            )
            self.rt.send_now(call.sid, callback)

    def _end(self, call: CallRecord, status: str) -> None:
        was_live = call.start_time is not None
        call.status = status
        call.end_time = call.updated = self.rt.now()
        call.duration = self._talked(call) if status == "completed" else 0
        sip = SIP_CODES.get(status) or call.plan.sip_code
        extra = {
            "CallDuration": str(call.duration),
            "Duration": str(math.ceil(call.duration / 60)),
            "SipResponseCode": str(sip),
        }
        if call.answered_by:
            extra["AnsweredBy"] = call.answered_by
        if call.options.record and call.duration:
            extra.update(self._recording(call))
        self._emit(call, "completed", status, extra)
        if call.held:
            self.rt.flush(call.sid, call.held)
        self.rt.stats.call_ended(call.account_sid, status, was_live=was_live)

    @staticmethod
    def _recording(call: CallRecord) -> dict[str, str]:
        """`Record=true`: the recording of the answered call is announced on `completed`."""
        recording = sid("RE")
        return {
            "RecordingSid": recording,
            "RecordingUrl": f"https://api.twilio.com{account_path(call.account_sid)}"
            f"/Recordings/{recording}",
            "RecordingDuration": str(call.duration),
        }

    def _talked(self, call: CallRecord) -> int:
        """Simulated seconds between the answer and now (the plan's, if not hung up early)."""
        if call.answered_at is None:
            return 0
        if self.rt.scenario.time_scale <= 0:
            return round(self._talk_s(call))
        return round(min(self._talk_s(call), self._elapsed(call)))

    @staticmethod
    def _talk_s(call: CallRecord) -> float:
        """How long the answered call lasts: the plan's, or as its TwiML update made it."""
        return call.plan.talk_s if call.talk_s is None else call.talk_s

    def _elapsed(self, call: CallRecord) -> float:
        """Simulated seconds since the answer (0 at `time_scale` 0: nothing is ever live)."""
        scale = self.rt.scenario.time_scale
        if call.answered_at is None or scale <= 0:
            return 0.0
        return (self.rt.now() - call.answered_at) / scale

    # --- plumbing ------------------------------------------------------------------------

    def _log(self, call: CallRecord, level: int, code: int, text: str) -> None:
        """An entry in the call's log: `GET …/Calls/{sid}/Notifications.json`."""
        call.notifications.append(Notification(sid("NO"), code, level, text, self.rt.now()))
        self.rt.stats.notifications[str(code)] += 1

    def _emit(
        self, call: CallRecord, event: str, status: str, extra: dict[str, str] | None = None
    ) -> None:
        options = call.options
        if not options.status_callback or event not in options.events:
            return
        sequence = call.sequence  # counts dropped callbacks too: they were sent, then lost
        call.sequence += 1
        if self.rt.dropping_callbacks():
            return  # nobody receives the params: don't build them
        params = {
            "CallSid": call.sid,
            "AccountSid": call.account_sid,
            "From": call.from_,
            "To": call.to,
            "Caller": call.from_,
            "Called": call.to,
            "Direction": "outbound-api",
            "ApiVersion": API_VERSION,
            "CallStatus": status,
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(sequence),
            "Timestamp": rfc2822(self.rt.now()) or "",
            **(extra or {}),
        }
        callback = self.rt.sign(
            kind="call-status",
            account_sid=call.account_sid,
            url=options.status_callback,
            method=options.status_callback_method,
            params=params,
        )
        self.rt.send(call.sid, call.held, callback, final=event == "completed")

    def _after(
        self, call: CallRecord, sim_seconds: float, step: Callable[..., None], *args: Any
    ) -> None:
        self.steps.after(call, sim_seconds * self.rt.scenario.time_scale, step, *args)
