"""The carrier boundary. `get_provider()` returns the configured provider (one per process)."""

import functools

from django.conf import settings

from messaging.providers.base import (
    CallInfo,
    CallRequest,
    MessageInfo,
    Provider,
    ProviderError,
    retry_delay,
)

__all__ = (
    "CallInfo",
    "CallRequest",
    "MessageInfo",
    "Provider",
    "ProviderError",
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
