"""Scope checks: a view names the scopes that allow reading and those that allow writing."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from orgs.models import ApiKey


class HasApiKeyScopes(BasePermission):
    """Any of `read_scopes` allows safe methods; any of `write_scopes` allows the rest.

    A view without scopes declared allows nothing, so a forgotten declaration fails closed.
    """

    message = "This API key lacks the scope this request needs."

    def has_permission(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        needed = (
            getattr(view, "read_scopes", ())
            if request.method in SAFE_METHODS
            else getattr(view, "write_scopes", ())
        )
        granted = set(key.scopes)
        ok = bool(set(needed) & granted)
        if not ok and needed:
            self.message = f"This API key needs one of the scopes: {', '.join(needed)}."
        return ok
