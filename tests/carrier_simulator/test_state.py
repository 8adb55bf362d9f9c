"""The Messages list filter: which messages a `DateSent` day or window, `To` and `From` match."""

from datetime import UTC, datetime

import pytest
from multidict import MultiDict

from carrier_simulator import params
from carrier_simulator.draw import MessagePlan
from carrier_simulator.state import MessageRecord

CREATED = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC).timestamp()
SENT = CREATED + 30  # half a minute in the sender's queue


def message(*, sent: bool, to: str = "+14155550102", from_: str = "+14155550100"):
    return MessageRecord(
        sid="SM" + "0" * 32,
        account_sid="AC" + "a1" * 16,
        to=to,
        from_=from_,
        messaging_service_sid=None,
        body="hi",
        num_media=0,
        num_segments=1,
        created=CREATED,
        plan=MessagePlan(outcome="delivered", error_code=None, sent_s=0, delivered_s=0),
        status_callback=None,
        validity_s=36_000,
        date_sent=SENT if sent else None,
    )


def matches(record: MessageRecord, **query: str) -> bool:
    return params.message_filter(MultiDict(query)).matches(record)


@pytest.mark.parametrize(
    ("query", "sent", "queued"),
    [
        ({}, True, True),
        ({"DateSent": "2024-05-01"}, True, True),
        ({"DateSent": "2024-05-01T23:59:59Z"}, True, True),  # a datetime means its day
        ({"DateSent": "2024-04-30"}, False, False),
        ({"DateSent>": "2024-05-01T12:00:30Z"}, True, False),  # at or after
        ({"DateSent>": "2024-05-01T12:00:31Z"}, False, False),
        ({"DateSent<": "2024-05-01T12:00:30Z"}, False, True),  # strictly before
        ({"DateSent<": "2024-05-01T12:00:31Z"}, True, True),
        ({"DateSent>": "2024-05-01T12:00:00Z", "DateSent<": "2024-05-01T12:00:10Z"}, False, True),
        ({"DateSent>": "=2024-05-01"}, True, True),  # `DateSent>=2024-05-01` on the wire
    ],
)
def test_date_sent_bounds_the_send_time_or_the_creation_of_a_message_not_yet_sent(
    query, sent, queued
):
    assert matches(message(sent=True), **query) is sent
    assert matches(message(sent=False), **query) is queued


def test_to_and_from_match_exactly():
    record = message(sent=True)

    assert matches(record, To="+14155550102", From="+14155550100")
    assert not matches(record, To="+14155550103")
    assert not matches(record, From="+14155550101")
    service = message(sent=True, from_=None)  # through a Messaging Service, no From
    assert not matches(service, From="+14155550100") and matches(service, To="+14155550102")
