"""One envelope for domain errors; DRF's field-error shape for validation errors."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class DomainError(Exception):
    """A request that is well-formed but not allowed by the domain's rules (409 by default).

    Answered as `{"detail", "code", **extra}`, with a Retry-After header when `retry_after`
    says when trying again may succeed.
    """

    status_code = status.HTTP_409_CONFLICT

    def __init__(
        self,
        message: str,
        *,
        code: str = "conflict",
        status_code: int | None = None,
        extra: dict | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.extra = extra or {}
        self.retry_after = retry_after
        if status_code is not None:
            self.status_code = status_code


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        headers = None if exc.retry_after is None else {"Retry-After": str(exc.retry_after)}
        body = {"detail": exc.message, "code": exc.code, **exc.extra}
        return Response(body, status=exc.status_code, headers=headers)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = ValidationError(detail=detail)
    return drf_exception_handler(exc, context)
