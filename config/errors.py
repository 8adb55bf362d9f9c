"""Domain errors: what the rules refuse, raised by services and answered by the API layer.

They live outside the API so that the engine raises them without importing DRF; the API's
exception handler (orgs.api.errors) turns one into its status and `{"detail", "code", ...}`.
"""

from http import HTTPStatus


class DomainError(Exception):
    """A request that is well-formed but not allowed by the domain's rules (409 by default).

    Answered as `{"detail", "code", **extra}`, with a Retry-After header when `retry_after`
    says when trying again may succeed.
    """

    status_code = HTTPStatus.CONFLICT

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
