from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.response import Response
from rest_framework.views import APIView

from orgs.alerts import alert_secret_rotate, alert_settings_update
from orgs.api.base import ApiKeyRateThrottle, TenantViewSet
from orgs.api.filters import AlertFilter
from orgs.api.pagination import CreatedCursorPagination
from orgs.api.serializers import AlertSecretSerializer, AlertSerializer, AlertSettingsSerializer
from orgs.models import AlertDelivery, Scope


class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Alerts for the organization's webhook and how their delivery went, newest first."""

    queryset = AlertDelivery.objects.all()
    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    pagination_class = CreatedCursorPagination
    lookup_value_regex = r"\d+"
    read_scopes = (Scope.ALERTS_READ, Scope.ALERTS_MANAGE)


class AlertSettingsView(APIView):
    """Where the organization's alerts are POSTed. The signing secret is never shown here:
    `rotate-secret/` replaces it and shows the new one once."""

    read_scopes = (Scope.ALERTS_READ, Scope.ALERTS_MANAGE)
    write_scopes = (Scope.ALERTS_MANAGE,)
    throttle_classes = (ApiKeyRateThrottle,)

    @extend_schema(operation_id="alerts_settings_get", responses=AlertSettingsSerializer)
    def get(self, request):
        return Response(AlertSettingsSerializer(request.auth.organization).data)

    @extend_schema(
        operation_id="alerts_settings_update",
        request=AlertSettingsSerializer,
        responses=AlertSettingsSerializer,
    )
    def patch(self, request):
        """Set the webhook URL; an empty one turns alerts off (pending ones then fail)."""
        serializer = AlertSettingsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        org = alert_settings_update(org=request.auth.organization, **serializer.validated_data)
        return Response(AlertSettingsSerializer(org).data)


class AlertSecretRotateView(APIView):
    """A new signing secret for the organization's alerts, returned this once (never stored
    anywhere it can be read back through the API)."""

    write_scopes = (Scope.ALERTS_MANAGE,)
    throttle_classes = (ApiKeyRateThrottle,)

    @extend_schema(
        operation_id="alerts_settings_rotate_secret",
        request=None,
        responses=AlertSecretSerializer,
    )
    def post(self, request):
        """Replace the secret; every attempt from now on, retries included, is signed with
        the new one."""
        secret = alert_secret_rotate(org=request.auth.organization)
        return Response({"alert_secret": secret}, headers={"Cache-Control": "no-store"})
