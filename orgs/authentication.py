"""`Authorization: Bearer <key>` authentication: request.auth is the ApiKey."""

from rest_framework import authentication, exceptions

from orgs.selectors import api_key_get_by_raw
from orgs.services import api_key_touch


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        kind, _, raw = header.partition(" ")
        if kind.lower() != self.keyword.lower() or not raw.strip():
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <api key>'.")
        key = api_key_get_by_raw(raw_key=raw.strip())
        if key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        api_key_touch(key=key)
        return (ApiKeyUser(key), key)

    def authenticate_header(self, request):
        return self.keyword


class ApiKeyUser:
    """The principal behind an API key: no Django user, only an organization and scopes."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, key):
        self.key = key
        self.organization = key.organization
        self.pk = None

    def __str__(self) -> str:
        return f"api-key:{self.key.prefix}"
