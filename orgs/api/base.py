"""The tenant-scoped base for every API view: org scoping, scopes, throttling, pagination."""

from rest_framework import mixins, viewsets
from rest_framework.throttling import SimpleRateThrottle


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Each API key (API_THROTTLE_RATE)."""

    scope = "api_key"

    def ident_of(self, key) -> int:
        return key.pk

    def get_cache_key(self, request, view):
        if request.auth is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.ident_of(request.auth)}


class OrgRateThrottle(ApiKeyRateThrottle):
    """All the keys of an organization together (API_ORG_THROTTLE_RATE): minting keys does
    not multiply an org's rate."""

    scope = "org"

    def ident_of(self, key) -> int:
        return key.organization_id


API_THROTTLES = (ApiKeyRateThrottle, OrgRateThrottle)


class TenantScopedMixin:
    """Every queryset is filtered to the caller's organization; creates are stamped with it.

    Another organization's ids are therefore simply not found (404), and never listed.
    """

    read_scopes: tuple[str, ...] = ()
    write_scopes: tuple[str, ...] = ()
    throttle_classes = API_THROTTLES
    org_field = "organization"

    @property
    def organization(self):
        return self.request.auth.organization

    def get_queryset(self):
        qs = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return qs.none()
        return qs.filter(**{self.org_field: self.organization})

    def get_serializer_context(self):
        ctx = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False) and self.request.auth is not None:
            ctx["organization"] = self.organization
        return ctx


class TenantViewSet(TenantScopedMixin, viewsets.GenericViewSet):
    pass


class TenantModelViewSet(
    TenantScopedMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    def perform_create(self, serializer):
        serializer.save(organization=self.organization)
