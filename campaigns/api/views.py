from collections.abc import Callable

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.api.filters import CampaignFilter
from campaigns.api.serializers import (
    CampaignSerializer,
    ConcurrencySettingsSerializer,
    ImportFileSerializer,
    ImportResultSerializer,
    TransitionErrorSerializer,
)
from campaigns.models import Campaign
from campaigns.services import (
    InvalidTransition,
    campaign_cancel,
    campaign_pause,
    campaign_resume,
    campaign_start,
)
from orgs.api.base import ApiKeyRateThrottle, TenantModelViewSet
from orgs.models import Scope
from orgs.services import org_set_concurrency_limit
from prospects.importing import ImportFileError, prospects_import

_TRANSITION_SCHEMA = {
    "request": None,
    "responses": {200: CampaignSerializer, 409: TransitionErrorSerializer},
}


class CampaignViewSet(TenantModelViewSet):
    queryset = Campaign.objects.all()
    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter
    read_scopes = (Scope.CAMPAIGNS_READ, Scope.CAMPAIGNS_MANAGE)
    write_scopes = (Scope.CAMPAIGNS_MANAGE,)

    @extend_schema(
        operation_id="campaigns_prospects_import",
        request={"multipart/form-data": ImportFileSerializer},
        responses={200: ImportResultSerializer},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="prospects/import",
        parser_classes=[MultiPartParser, FormParser],
        read_scopes=(),
        write_scopes=(Scope.PROSPECTS_MANAGE,),
    )
    def import_prospects(self, request, pk=None):
        """Import prospects from a CSV file (multipart field `file`)."""
        campaign = self.get_object()
        upload = ImportFileSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        try:
            result = prospects_import(campaign=campaign, fileobj=upload.validated_data["file"])
        except ImportFileError as exc:
            return Response({"file": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(result)

    @extend_schema(operation_id="campaigns_start", **_TRANSITION_SCHEMA)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        """Start dialing (created -> dialing)."""
        return self._transition(campaign_start)

    @extend_schema(operation_id="campaigns_pause", **_TRANSITION_SCHEMA)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        """Pause (dialing -> paused, reason `manual`); calls in flight finish."""
        return self._transition(campaign_pause)

    @extend_schema(operation_id="campaigns_resume", **_TRANSITION_SCHEMA)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Resume (paused -> dialing), whatever paused it; pacing restarts from zero."""
        return self._transition(campaign_resume)

    @extend_schema(operation_id="campaigns_cancel", **_TRANSITION_SCHEMA)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel for good (created, dialing or paused -> cancelled) with its queued prospects.

        Calls in flight finish.
        """
        return self._transition(campaign_cancel)

    def _transition(self, service: Callable[..., Campaign]) -> Response:
        campaign = self.get_object()
        try:
            campaign = service(campaign=campaign)
        except InvalidTransition as exc:
            return Response(
                {"detail": exc.message, "code": exc.code, "status": exc.status},
                status=exc.status_code,
            )
        except Campaign.DoesNotExist as exc:  # deleted since get_object()
            raise Http404 from exc
        return Response(self.get_serializer(campaign).data)


class ConcurrencySettingsView(APIView):
    """The caller's organization's concurrency limit (simultaneous calls)."""

    read_scopes = (
        Scope.CAMPAIGNS_READ,
        Scope.CAMPAIGNS_MANAGE,
        Scope.CONCURRENCY_READ,
        Scope.CONCURRENCY_MANAGE,
    )
    write_scopes = (Scope.CAMPAIGNS_MANAGE, Scope.CONCURRENCY_MANAGE)
    throttle_classes = (ApiKeyRateThrottle,)

    @extend_schema(operation_id="concurrency_settings_get", responses=ConcurrencySettingsSerializer)
    def get(self, request):
        org = request.auth.organization
        return Response({"concurrency_limit": org.concurrency_limit})

    @extend_schema(
        operation_id="concurrency_settings_update",
        request=ConcurrencySettingsSerializer,
        responses=ConcurrencySettingsSerializer,
    )
    def put(self, request):
        serializer = ConcurrencySettingsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        org = org_set_concurrency_limit(
            org=request.auth.organization, limit=serializer.validated_data["concurrency_limit"]
        )
        return Response({"concurrency_limit": org.concurrency_limit})
