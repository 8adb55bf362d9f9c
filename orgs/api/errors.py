"""One envelope for domain errors (config.errors); DRF's field-error shape for validation
errors."""

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import page_not_found
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.errors import DomainError


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        headers = None if exc.retry_after is None else {"Retry-After": str(exc.retry_after)}
        body = {"detail": exc.message, "code": exc.code, **exc.extra}
        return Response(body, status=exc.status_code, headers=headers)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = ValidationError(detail=detail)
    return drf_exception_handler(exc, context)


def not_found(request, exception):
    """The 404 page (config.urls' handler404): JSON under /api/, Django's page elsewhere."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return page_not_found(request, exception)


def bad_request(request, exception):
    """The 400 page (config.urls' handler400), for what Django refuses before a view runs:
    under /api/ JSON, and a body over DATA_UPLOAD_MAX_MEMORY_SIZE a 413."""
    if not request.path_info.startswith("/api/"):
        return django_bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        body = {"detail": "The request body is too large.", "code": "too_large"}
        return JsonResponse(body, status=413)
    return JsonResponse({"detail": "Bad request.", "code": "bad_request"}, status=400)
