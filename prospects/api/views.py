from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from orgs.api.base import TenantModelViewSet, TenantViewSet
from orgs.api.pagination import CreatedCursorPagination
from orgs.models import Scope
from prospects.api.filters import ProspectFilter, SuppressionFilter
from prospects.api.serializers import (
    ImportFileSerializer,
    ImportResultSerializer,
    ProspectSerializer,
    SuppressionSerializer,
)
from prospects.importing import ImportFileError, suppressions_import
from prospects.models import Prospect, ProspectPhone, Suppression


class ProspectViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, TenantViewSet
):
    queryset = Prospect.objects.prefetch_related(
        Prefetch("phones", queryset=ProspectPhone.objects.order_by("position"))
    ).order_by("id")
    serializer_class = ProspectSerializer
    filterset_class = ProspectFilter
    read_scopes = (Scope.PROSPECTS_READ, Scope.PROSPECTS_MANAGE)
    write_scopes = (Scope.PROSPECTS_MANAGE,)


class SuppressionViewSet(TenantModelViewSet):
    queryset = Suppression.objects.all()
    serializer_class = SuppressionSerializer
    filterset_class = SuppressionFilter
    pagination_class = CreatedCursorPagination
    read_scopes = (Scope.SUPPRESSION_READ, Scope.SUPPRESSION_MANAGE)
    write_scopes = (Scope.SUPPRESSION_MANAGE,)

    def perform_create(self, serializer):
        serializer.save(
            organization=self.organization, source=serializer.validated_data.get("source") or "api"
        )

    @extend_schema(
        operation_id="suppressions_import",
        request={"multipart/form-data": ImportFileSerializer},
        responses={200: ImportResultSerializer},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_file(self, request):
        """Load a DNC list from a CSV file (`phone`, optional `reason`)."""
        upload = ImportFileSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        try:
            result = suppressions_import(
                org=self.organization, fileobj=upload.validated_data["file"], source="api-import"
            )
        except ImportFileError as exc:
            return Response({"file": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(result)
