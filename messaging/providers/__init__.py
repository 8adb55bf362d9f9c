"""The carrier boundary. `get_provider()` returns the configured provider (one per process)."""

import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.conf import settings

from messaging.providers.base import (
    CallInfo,
    CallRequest,
    MessageInfo,
    MessageRequest,
    Provider,
    ProviderError,
    retry_delay,
)

__all__ = (
    "CallInfo",
    "CallRequest",
    "MessageInfo",
    "MessageRequest",
    "Provider",
    "ProviderError",
    "carrier_answer",
    "carrier_each",
    "get_provider",
    "retry_delay",
)


@functools.cache
def get_provider() -> Provider:
    from messaging.providers.twilio import TwilioProvider

    return TwilioProvider(
        account_sid=settings.TWILIO_ACCOUNT_SID,
        auth_token=settings.TWILIO_AUTH_TOKEN,
        base_url=settings.TWILIO_API_BASE_URL,
        timeout=settings.TWILIO_HTTP_TIMEOUT,
    )


T = TypeVar("T")
R = TypeVar("R")


def carrier_answer(request: Callable[[T], R], item: T) -> R | ProviderError:
    """`request(item)`, or the ProviderError it raised: a refusal is an answer, not a crash."""
    try:
        return request(item)
    except ProviderError as error:
        return error


def carrier_each(
    request: Callable[[T], R], items: Sequence[T], *, parallel: int = 16
) -> list[R | ProviderError]:
    """`request(item)` for every item, up to `parallel` at once, in the items' order; a
    ProviderError takes its item's place instead of being raised. Only the carrier requests
    run in threads: keep database work out of `request`."""
    if not items:
        return []
    with ThreadPoolExecutor(min(len(items), parallel)) as pool:
        return list(pool.map(lambda item: carrier_answer(request, item), items))
