"""What a channel's engine does when one of its campaigns starts.

The state machine (campaigns.services) imports no engine: each engine registers its start
handler here from its AppConfig.ready(). A handler runs inside `campaign_start`'s transaction
with the campaign row locked; raising rolls the start back (the campaign stays created).
"""

from collections.abc import Callable
from datetime import datetime

from campaigns.models import Campaign

StartHandler = Callable[..., None]  # (*, campaign: Campaign, now: datetime) -> None

_start_handlers: dict[str, StartHandler] = {}


def start_handler_register(*, channel: str, handler: StartHandler) -> None:
    _start_handlers[channel] = handler


def start_handle(*, campaign: Campaign, now: datetime) -> None:
    """The campaign's channel prepares its start (a blast writes its texts) from the row as
    the start just wrote it; a channel that registered nothing has nothing to prepare."""
    handler = _start_handlers.get(campaign.channel)
    if handler is not None:
        handler(campaign=Campaign.objects.get(pk=campaign.pk), now=now)
