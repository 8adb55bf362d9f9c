"""The message lifecycle: [queued →] sent → delivered | undelivered, or failed before sending.

No callback for the initial status (contract §2.3); a create through a Messaging Service
starts `accepted` and reports `queued` first. Each sender sends at its type's rate (`mps`,
segments per second, real time; contract §6: long code 1, toll-free 3, short code 100). A
Messaging Service without From is one sender, paced like a long code. A sender whose queue
already holds more than 10 h: a create with that From is refused with 21611, a create through
a service is accepted and then fails with 30001. A message still queued past its
`ValidityPeriod` fails with 30036 and takes no sending slot.
"""

import asyncio

from carrier_simulator.formats import API_VERSION, dlr_done_date, sender_type
from carrier_simulator.runtime import Runtime
from carrier_simulator.state import MessageRecord
from carrier_simulator.timing import Pacer, Steps

QUEUE_LIMIT_SECONDS = 36_000.0  # 10 h of segments per sender (21611, or 30001 via a service)
QUEUE_OVERFLOW = 30001
VALIDITY_EXPIRED = 30036


class MessageEngine:
    def __init__(self, rt: Runtime):
        self.rt = rt
        self.pacer = Pacer()
        self.steps = Steps()

    def queue_full(self, sender: str) -> bool:
        """More than 10 h of segments already wait at the sender's rate (36,000 at 1 MPS)."""
        now = asyncio.get_running_loop().time()
        return self.pacer.backlog(sender, now) > QUEUE_LIMIT_SECONDS

    def place(self, message: MessageRecord) -> None:
        """Start a stored message after its 201 has been rendered."""
        sender = message.sender
        if self.queue_full(sender):  # only through a service: a full From was refused (21611)
            self.steps.later(message, 0.0, self._finish, "failed", QUEUE_OVERFLOW)
            return
        now = asyncio.get_running_loop().time()
        wait = self.pacer.backlog(sender, now)
        if wait <= message.validity_s:  # one that will expire first never takes a slot
            cost = max(message.num_segments, 1)
            wait = self.pacer.reserve(sender, rate=self._rate(sender), now=now, cost=cost)
        self.steps.later(message, 0.0, self._start, wait)

    def reset(self) -> None:
        self.steps.reset()
        self.pacer.reset()

    def _rate(self, sender: str) -> float:
        return self.rt.scenario.mps[sender_type(sender)]

    # --- steps ---------------------------------------------------------------------------

    def _start(self, message: MessageRecord, wait: float) -> None:
        if message.status == "accepted":
            message.status, message.updated = "queued", self.rt.now()
            self._emit(message)
        if wait > message.validity_s:
            self.steps.after(message, message.validity_s, self._finish, "failed", VALIDITY_EXPIRED)
            return
        sent_in = wait + message.plan.sent_s * self.rt.scenario.time_scale
        self.steps.after(message, sent_in, self._sent)

    def _sent(self, message: MessageRecord) -> None:
        plan = message.plan
        if plan.outcome == "failed":
            self._finish(message, "failed", plan.error_code)
            return
        message.status = "sent"
        message.date_sent = message.updated = self.rt.now()
        self._emit(message)
        final = "delivered" if plan.outcome == "delivered" else "undelivered"
        delay = plan.delivered_s * self.rt.scenario.time_scale
        self.steps.after(message, delay, self._finish, final, plan.error_code)

    def _finish(self, message: MessageRecord, status: str, error_code: int | None) -> None:
        message.status, message.updated = status, self.rt.now()
        message.error_code = error_code
        extra: dict[str, str] = {}
        if error_code is not None:
            extra["ErrorCode"] = str(error_code)
        if status in ("delivered", "undelivered"):
            extra["RawDlrDoneDate"] = dlr_done_date(message.updated)
        self._emit(message, extra, final=True)
        if message.held:
            self.rt.flush(message.sid, message.held)
        self.rt.stats.messages.by_status[status] += 1

    def _emit(
        self, message: MessageRecord, extra: dict[str, str] | None = None, *, final: bool = False
    ) -> None:
        if not message.status_callback or self.rt.dropping_callbacks():
            return
        params = {
            "MessageSid": message.sid,
            "SmsSid": message.sid,
            "MessageStatus": message.status,
            "SmsStatus": message.status,
            "AccountSid": message.account_sid,
            "To": message.to,
            "ApiVersion": API_VERSION,
            **(extra or {}),
        }
        if message.from_:
            params["From"] = message.from_
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        callback = self.rt.sign(
            kind="sms-status",
            account_sid=message.account_sid,
            url=message.status_callback,
            method="POST",
            params=params,
        )
        self.rt.send(message.sid, message.held, callback, final=final)
