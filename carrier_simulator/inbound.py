"""A person texting one of our numbers: Twilio's default opt-out handling, then our webhook.

Contract §2.5: STOP-type keywords opt the (recipient, sender) pair out so later creates get
21610, START-type keywords opt it back in, HELP-type keywords get an auto-reply; Twilio still
forwards every inbound text to the number's webhook (§2.4 params, signed).
"""

from dataclasses import dataclass
from typing import Any

from carrier_simulator.formats import API_VERSION, num_segments, sid
from carrier_simulator.runtime import Runtime

OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN = frozenset({"START", "YES", "UNSTOP"})
HELP = frozenset({"HELP", "INFO"})

AUTO_REPLIES = {
    "opt_out": "You have successfully been unsubscribed. You will not receive any more messages "
    "from this number. Reply START to resubscribe.",
    "opt_in": "You have successfully been re-subscribed to messages from this number. "
    "Reply HELP for help. Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
    "help": "Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
}
OPT_OUT_TYPES = {"opt_out": "STOP", "opt_in": "START", "help": "HELP"}


@dataclass(frozen=True)
class InboundText:
    from_: str  # the person
    to: str  # our number
    body: str
    account_sid: str
    messaging_service_sid: str | None = None
    url: str | None = None  # overrides the scenario's inbound_url


def classify(body: str) -> str:
    """opt_out, opt_in, help, or none: one word, any case, trimmed."""
    word = body.strip().upper()
    if word in OPT_OUT:
        return "opt_out"
    if word in OPT_IN:
        return "opt_in"
    return "help" if word in HELP else "none"


def receive(rt: Runtime, text: InboundText) -> dict[str, Any]:
    """Apply the keyword rules, record any auto-reply and post the inbound webhook."""
    action = classify(text.body)
    sender = text.messaging_service_sid or text.to
    if action == "opt_out":
        rt.store.opt_out(text.from_, sender)
    elif action == "opt_in":
        rt.store.opt_in(text.from_, sender)
    reply = AUTO_REPLIES.get(action)
    if reply:
        rt.store.replies.append({"to": text.from_, "from": text.to, "body": reply})
    rt.stats.inbound[action] += 1
    message_sid = sid("SM")
    url = text.url or rt.scenario.inbound_url
    if url:
        params = _webhook_params(text, message_sid, action)
        callback = rt.sign(
            kind="sms-inbound", account_sid=text.account_sid, url=url, method="POST", params=params
        )
        rt.send_now(message_sid, callback)
    return {"sid": message_sid, "action": action, "auto_reply": reply, "webhook_url": url}


def _webhook_params(text: InboundText, message_sid: str, action: str) -> dict[str, str]:
    params = {
        "MessageSid": message_sid,
        "SmsSid": message_sid,
        "SmsMessageSid": message_sid,
        "AccountSid": text.account_sid,
        "From": text.from_,
        "To": text.to,
        "Body": text.body,
        "NumMedia": "0",
        "NumSegments": str(num_segments(text.body)),
        "SmsStatus": "received",
        "ApiVersion": API_VERSION,
    }
    if text.messaging_service_sid:
        params["MessagingServiceSid"] = text.messaging_service_sid
        if action in OPT_OUT_TYPES:
            params["OptOutType"] = OPT_OUT_TYPES[action]
    return params
