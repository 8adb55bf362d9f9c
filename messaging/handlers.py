"""What the engines do with what the inbox applied.

The carrier boundary never imports an engine: each registers here, from its
AppConfig.ready(), the handlers for what it owns. The SMS engine takes the delivery reports
of the texts it sent; the voice engine settles the calls whose status just moved and plays
their voicemail drops. An inbox batch with no call event runs no voice handler.
"""

from collections.abc import Callable

# A delivery report: sid -> (status, carrier error code, inbox event id).
Reports = dict[str, tuple[str, int | None, int]]
# (reports, outcomes by event id to fill in) -> the sids the handler took as its own texts.
TextReportsHandler = Callable[[Reports, dict[int, str]], set[str]]
# (*, sids) -> None, called after the batch that applied those calls' events committed.
CallsAppliedHandler = Callable[..., None]

_text_reports_handlers: list[TextReportsHandler] = []
_calls_applied_handlers: list[CallsAppliedHandler] = []


def text_reports_handler_register(handler: TextReportsHandler) -> None:
    if handler not in _text_reports_handlers:
        _text_reports_handlers.append(handler)


def calls_applied_handler_register(handler: CallsAppliedHandler) -> None:
    if handler not in _calls_applied_handlers:
        _calls_applied_handlers.append(handler)


def text_reports_handle(reports: Reports, outcomes: dict[int, str]) -> set[str]:
    """Hand the reports to the engines inside the inbox's transaction; returns the sids they
    took (the rest are the carrier's records of texts no engine sent, such as HELP replies)."""
    taken: set[str] = set()
    for handler in _text_reports_handlers:
        left = {sid: report for sid, report in reports.items() if sid not in taken}
        if left:
            taken |= handler(left, outcomes)
    return taken


def calls_applied_handle(*, sids: list[str]) -> None:
    if sids:
        for handler in _calls_applied_handlers:
            handler(sids=sids)
