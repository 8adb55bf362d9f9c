"""The caller's organization: its alerts, its SMS credit and its blocked words."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.response import Response
from rest_framework.views import APIView

from orgs.alerts import alert_secret_rotate, alert_settings_update
from orgs.api.base import API_THROTTLES, TenantViewSet
from orgs.api.filters import AlertFilter
from orgs.api.pagination import CreatedCursorPagination
from orgs.api.serializers import (
    AlertSecretSerializer,
    AlertSerializer,
    AlertSettingsSerializer,
    BlockedWordsSerializer,
    CreditsAddSerializer,
    CreditsSerializer,
)
from orgs.models import AlertDelivery, Scope
from orgs.services import credits_add, org_set_blocked_words


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
    throttle_classes = API_THROTTLES

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
    throttle_classes = API_THROTTLES

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


class _OrgSettingView(APIView):
    """One setting of the caller's organization: GET answers `{setting: value}`."""

    setting: str
    throttle_classes = API_THROTTLES

    @property
    def organization(self):
        return self.request.auth.organization

    def get(self, request):
        return Response({self.setting: getattr(self.organization, self.setting)})

    def validated(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


@extend_schema_view(get=extend_schema(operation_id="credits_get", responses=CreditsSerializer))
class CreditsView(_OrgSettingView):
    """Prepaid message segments: each text takes its segments when it is sent."""

    setting = "sms_credits"
    read_scopes = (Scope.BILLING_READ, Scope.BILLING_MANAGE)
    write_scopes = (Scope.BILLING_MANAGE,)

    @extend_schema(
        operation_id="credits_add", request=CreditsAddSerializer, responses=CreditsSerializer
    )
    def post(self, request):
        """Add segments to the credit; answers the new balance."""
        add = self.validated(CreditsAddSerializer)["add"]
        return Response({self.setting: credits_add(org=self.organization, segments=add)})


@extend_schema_view(
    get=extend_schema(operation_id="blocked_words_get", responses=BlockedWordsSerializer)
)
class BlockedWordsView(_OrgSettingView):
    """Words no campaign text may contain: a text with one is a BLOCKED_CONTENT dead letter."""

    setting = "blocked_words"
    read_scopes = (Scope.CAMPAIGNS_READ, Scope.CAMPAIGNS_MANAGE)
    write_scopes = (Scope.CAMPAIGNS_MANAGE,)

    @extend_schema(
        operation_id="blocked_words_update",
        request=BlockedWordsSerializer,
        responses=BlockedWordsSerializer,
    )
    def put(self, request):
        """Replace the list; answers it as stored (trimmed, without repeats)."""
        words = self.validated(BlockedWordsSerializer)[self.setting]
        return Response({self.setting: org_set_blocked_words(org=self.organization, words=words)})
