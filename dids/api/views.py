from django.db.models import Prefetch
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from dids.api.filters import DidFilter, SenderPoolFilter
from dids.api.serializers import (
    DidHealthSerializer,
    DidPoolReportSerializer,
    DidSerializer,
    DidTransitionErrorSerializer,
    SenderPoolInputSerializer,
    SenderPoolInUseSerializer,
    SenderPoolSerializer,
)
from dids.models import Did, SenderPool
from dids.selectors import did_health_get, did_pool_report_get
from dids.services import did_cooldown_end, sender_pool_delete, sender_pool_save
from orgs.api.base import TenantModelViewSet, TenantViewSet
from orgs.models import Scope


class DidViewSet(TenantModelViewSet):
    queryset = Did.objects.all()
    serializer_class = DidSerializer
    filterset_class = DidFilter
    read_scopes = (Scope.DIDS_READ, Scope.DIDS_MANAGE)
    write_scopes = (Scope.DIDS_MANAGE,)

    @extend_schema(
        operation_id="dids_release",
        request=None,
        responses={200: DidHealthSerializer, 409: DidTransitionErrorSerializer},
    )
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        """End a cooling caller ID's cooldown now: back into rotation on a ramp, judged afresh
        on its calls from now on. 409 with its state when it is not cooling."""
        now = timezone.now()
        try:
            did = did_cooldown_end(did=self.get_object(), now=now)
        except Did.DoesNotExist as exc:  # deleted since get_object()
            raise Http404 from exc
        return Response(DidHealthSerializer(did_health_get(did=did, now=now)).data)


class DidHealthViewSet(mixins.ListModelMixin, TenantViewSet):
    """Caller-ID health: each caller ID's score and what moves it, and the pool as a whole."""

    queryset = Did.objects.all()
    serializer_class = DidHealthSerializer
    filterset_class = DidFilter
    read_scopes = (Scope.DIDS_READ, Scope.DIDS_MANAGE)

    @extend_schema(operation_id="dids_health_list")
    def list(self, request):
        """Each caller ID's score, its five components and where it stands in its lifecycle."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        now = timezone.now()
        rows = [did_health_get(did=did, now=now) for did in page]
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)

    @extend_schema(operation_id="dids_health_report", responses=DidPoolReportSerializer)
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def report(self, request):
        """The pool: caller IDs by state, who carries the campaign traffic, how fast caller IDs
        burn and when, at that rate, none is left."""
        report = did_pool_report_get(org=self.organization, now=timezone.now())
        return Response(DidPoolReportSerializer(report).data)


_POOL_WRITE = {"request": SenderPoolInputSerializer, "responses": SenderPoolSerializer}


@extend_schema_view(
    create=extend_schema(**_POOL_WRITE),
    update=extend_schema(**_POOL_WRITE),
    partial_update=extend_schema(**_POOL_WRITE),
    destroy=extend_schema(responses={204: None, 409: SenderPoolInUseSerializer}),
)
class SenderPoolViewSet(TenantModelViewSet):
    """Caller IDs that send SMS campaigns' texts, and the rate the pool may send at in all."""

    queryset = SenderPool.objects.prefetch_related(
        Prefetch("dids", Did.objects.only("id").order_by("id"))
    )
    serializer_class = SenderPoolSerializer
    filterset_class = SenderPoolFilter
    read_scopes = (Scope.DIDS_READ, Scope.DIDS_MANAGE)
    write_scopes = (Scope.DIDS_MANAGE,)

    def create(self, request):
        pool = self._save(SenderPool(organization=self.organization), partial=False)
        return Response(SenderPoolSerializer(pool).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        pool = self._save(self.get_object(), partial=partial)
        return Response(SenderPoolSerializer(pool).data)

    def destroy(self, request, pk=None):
        """Delete a pool; 409 naming the campaigns that still text from it."""
        sender_pool_delete(pool=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _save(self, pool: SenderPool, *, partial: bool) -> SenderPool:
        data = SenderPoolInputSerializer(data=self.request.data, partial=partial)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        pool = sender_pool_save(pool=pool, did_ids=fields.pop("dids", None), **fields)
        return self.get_queryset().get(pk=pool.pk)
