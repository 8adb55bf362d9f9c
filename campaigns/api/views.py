from collections.abc import Callable

from django.db import transaction
from django.db.models import prefetch_related_objects
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.api.filters import CallFilter, CampaignFilter
from campaigns.api.serializers import (
    CallCreateSerializer,
    CallErrorSerializer,
    CallSerializer,
    CampaignSerializer,
    ConcurrencySettingsSerializer,
    SmsStatsSerializer,
    TransitionErrorSerializer,
)
from campaigns.models import CallAttempt, Campaign
from campaigns.selectors import blast_progress_get
from campaigns.services import (
    InvalidTransition,
    campaign_cancel,
    campaign_pause,
    campaign_resume,
    campaign_start,
    campaign_variants_set,
)
from campaigns.voice.calls import CallNotPlaced, call_place
from orgs.api.base import API_THROTTLES, TenantModelViewSet, TenantViewSet
from orgs.api.pagination import CreatedCursorPagination
from orgs.models import Scope
from orgs.services import org_set_concurrency_limit
from prospects.api.serializers import ImportFileSerializer, ImportResultSerializer
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

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        sms = [c for c in page or () if c.channel == Campaign.Channel.SMS]
        prefetch_related_objects(sms, "variants")  # one query for the page's SMS campaigns
        return page

    def perform_create(self, serializer):
        self._save(serializer, organization=self.organization)

    def perform_update(self, serializer):
        self._save(serializer)

    def _save(self, serializer, **fields) -> None:
        """The campaign's fields, then its variants when given, as one change."""
        variants = serializer.validated_data.pop("variants", None)
        with transaction.atomic():
            campaign = serializer.save(**fields)
            if variants is not None:
                campaign_variants_set(campaign=campaign, variants=variants)

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

    @extend_schema(
        operation_id="campaigns_sms_stats",
        responses={200: SmsStatsSerializer, 409: TransitionErrorSerializer},
    )
    @action(detail=True, methods=["get"], url_path="sms-stats")
    def sms_stats(self, request, pk=None):
        """An SMS campaign's texts by status, dead letters by reason, sends and link clicks."""
        campaign = self.get_object()
        if campaign.channel != Campaign.Channel.SMS:
            return Response(
                {"detail": "Not an SMS campaign.", "code": "not_sms", "status": campaign.status},
                status=status.HTTP_409_CONFLICT,
            )
        progress = blast_progress_get(campaign_id=campaign.pk)
        return Response(SmsStatsSerializer(progress).data)

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
    throttle_classes = API_THROTTLES

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


class CallViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """One-off calls on the `api` pool: placed now, settled by the carrier's callbacks."""

    queryset = CallAttempt.objects.one_off()
    serializer_class = CallSerializer
    filterset_class = CallFilter
    pagination_class = CreatedCursorPagination
    read_scopes = (Scope.CALLS_READ, Scope.CALLS_MANAGE)
    write_scopes = (Scope.CALLS_MANAGE,)

    @extend_schema(
        operation_id="calls_create",
        request=CallCreateSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="A retried request with the same key gets the first call (200).",
            )
        ],
        responses={
            201: CallSerializer,
            200: CallSerializer,
            422: CallErrorSerializer,
            429: CallErrorSerializer,
            502: CallErrorSerializer,
        },
    )
    def create(self, request):
        """Place a call now: 201 with the call once the carrier accepted it.

        Refused with nothing changed: 422 `suppressed`, `outside_calling_window` (with
        `next_allowed_at`), `no_healthy_caller_id`, `idempotency_key_reused`; 429
        `org_concurrency_limit`, `api_pool_full`, `global_concurrency_limit` (with
        Retry-After). Not placed by the carrier, the call finished `rejected`: 422
        `carrier_rejected` (the number), else 502 `carrier_error`, with `carrier_code` and
        the call.
        """
        serializer = CallCreateSerializer(
            data=request.data,
            context={
                **self.get_serializer_context(),
                "idempotency_key_header": request.headers.get("Idempotency-Key", "").strip(),
            },
        )
        serializer.is_valid(raise_exception=True)
        try:
            call, created = call_place(org=self.organization, **serializer.validated_data)
        except CallNotPlaced as exc:
            exc.extra["call"] = CallSerializer(exc.attempt).data
            raise
        if created:
            return Response(CallSerializer(call).data, status=status.HTTP_201_CREATED)
        return Response(CallSerializer(call).data, headers={"Idempotent-Replayed": "true"})
