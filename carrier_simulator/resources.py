"""Response bodies: the Call and Message resources, a call's Notifications (its call log) and
the list envelopes (contract §1.2, §2.2)."""

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlencode

from carrier_simulator.formats import API_VERSION, formatted, rfc2822
from carrier_simulator.state import CallRecord, MessageRecord, Notification, Record

CALL_SUBRESOURCES = {
    "notifications": "Notifications",
    "recordings": "Recordings",
    "payments": "Payments",
    "events": "Events",
    "siprec": "Siprec",
    "streams": "Streams",
    "transcriptions": "Transcriptions",
    "user_defined_message_subscriptions": "UserDefinedMessageSubscriptions",
    "user_defined_messages": "UserDefinedMessages",
}


def account_path(account_sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}"


def _call_path(call: CallRecord) -> str:
    return f"{account_path(call.account_sid)}/Calls/{call.sid}"


def call_json(call: CallRecord) -> dict[str, Any]:
    return {**_call_fields(call), **_call_uris(_call_path(call))}


def call_text(call: CallRecord) -> str:
    """`json.dumps(call_json(call))`, byte for byte, for less: every create answers with it,
    and escaping its eleven URIs was half the encoding. They differ between calls only by the
    call's path, so it is escaped once and put into their JSON text.
    """
    fields = json.dumps(_call_fields(call))
    uris = _CALL_URIS_TEXT.replace(_PATH, json.dumps(_call_path(call))[1:-1])
    return f"{fields[:-1]}, {uris}}}"


def _call_uris(path: str) -> dict[str, Any]:
    """`uri` and `subresource_uris`, the Call resource's last fields."""
    return {
        "uri": f"{path}.json",
        "subresource_uris": {key: f"{path}/{name}.json" for key, name in CALL_SUBRESOURCES.items()},
    }


_PATH = "<path>"  # in _CALL_URIS_TEXT, stands for the call's path (JSON-escaped)
_CALL_URIS_TEXT = json.dumps(_call_uris(_PATH))[1:-1]


def _call_fields(call: CallRecord) -> dict[str, Any]:
    """The Call resource without `uri` and `subresource_uris`, which come last."""
    return {
        "sid": call.sid,
        "date_created": rfc2822(call.created),
        "date_updated": rfc2822(call.updated),
        "parent_call_sid": None,
        "account_sid": call.account_sid,
        "to": call.to,
        "to_formatted": formatted(call.to),
        "from": call.from_,
        "from_formatted": formatted(call.from_),
        "phone_number_sid": None,
        "status": call.status,
        "start_time": rfc2822(call.start_time),
        "end_time": rfc2822(call.end_time),
        "duration": None if call.duration is None else str(call.duration),
        "price": None,
        "price_unit": "USD",
        "direction": "outbound-api",
        "answered_by": call.answered_by,
        "annotation": None,
        "api_version": API_VERSION,
        "forwarded_from": None,
        "group_sid": None,
        "caller_name": None,
        "queue_time": str(call.queue_time_ms),
        "trunk_sid": None,
    }


def message_json(message: MessageRecord) -> dict[str, Any]:
    base = f"{account_path(message.account_sid)}/Messages/{message.sid}"
    unassigned = message.status == "accepted"  # a Messaging Service has not picked a sender
    return {
        "account_sid": message.account_sid,
        "api_version": API_VERSION,
        "body": message.body,
        "date_created": rfc2822(message.created),
        "date_sent": rfc2822(message.date_sent),
        "date_updated": rfc2822(message.updated),
        "direction": "outbound-api",
        "error_code": message.error_code,
        "error_message": None,
        "from": message.from_,
        "messaging_service_sid": message.messaging_service_sid,
        "num_media": str(message.num_media),
        "num_segments": "0" if unassigned else str(message.num_segments),
        "price": None,
        "price_unit": "USD",
        "sid": message.sid,
        "status": message.status,
        "subresource_uris": {
            "media": f"{base}/Media.json",
            "feedback": f"{base}/Feedback.json",
        },
        "to": message.to,
        "uri": f"{base}.json",
    }


def page_json(
    account_sid: str,
    resource: str,
    records: Sequence[Record],
    render: Callable[[Record], dict[str, Any]],
    *,
    filters: Iterable[tuple[str, str]],
    page: int,
    size: int,
    more: bool,
) -> dict[str, Any]:
    """Twilio's paging envelope for a list of `resource` ("Calls", "Messages"): the records
    under the resource's name in lower case; `next_page_uri` carries a PageToken cursor."""
    path = f"{account_path(account_sid)}/{resource}.json"
    filters = list(filters)

    def uri(page_number: int, token: str | None = None) -> str:
        query = [*filters, ("PageSize", str(size)), ("Page", str(page_number))]
        if token:
            query.append(("PageToken", token))
        return f"{path}?{urlencode(query)}"

    start = page * size
    return {
        resource.lower(): [render(record) for record in records],
        "end": start + max(len(records) - 1, 0),
        "first_page_uri": uri(0),
        "next_page_uri": uri(page + 1, f"PA{records[-1].index}") if more and records else None,
        "page": page,
        "page_size": size,
        "previous_page_uri": None,
        "start": start,
        "uri": uri(page),
    }


def notification_json(call: CallRecord, note: Notification) -> dict[str, Any]:
    """A Call Notification: an entry of the call's log (error 13224, warning 21262)."""
    return {
        "account_sid": call.account_sid,
        "api_version": API_VERSION,
        "call_sid": call.sid,
        "date_created": rfc2822(note.created),
        "date_updated": rfc2822(note.created),
        "error_code": str(note.error_code),
        "log": str(note.log),
        "message_date": rfc2822(note.created),
        "message_text": note.text,
        "more_info": f"https://www.twilio.com/docs/errors/{note.error_code}",
        "request_method": None,  # no TwiML request is made, so none caused it
        "request_url": None,
        "request_variables": None,
        "response_body": None,
        "response_headers": None,
        "sid": note.sid,
        "uri": f"{account_path(call.account_sid)}/Calls/{call.sid}/Notifications/{note.sid}.json",
    }


def notifications_page_json(
    call: CallRecord, notes: list[Notification], *, log: str | None, page: int, size: int
) -> dict[str, Any]:
    """One page of a call's notifications, oldest first; a call has at most a few."""
    path = f"{account_path(call.account_sid)}/Calls/{call.sid}/Notifications.json"
    filters = [("Log", log)] if log is not None else []

    def uri(page_number: int) -> str:
        query = [*filters, ("PageSize", str(size)), ("Page", str(page_number))]
        return f"{path}?{urlencode(query)}"

    start = page * size
    shown = notes[start : start + size]
    return {
        "notifications": [notification_json(call, note) for note in shown],
        "end": start + max(len(shown) - 1, 0),
        "first_page_uri": uri(0),
        "next_page_uri": uri(page + 1) if len(notes) > start + size else None,
        "page": page,
        "page_size": size,
        "previous_page_uri": uri(page - 1) if page else None,
        "start": start,
        "uri": uri(page),
    }
