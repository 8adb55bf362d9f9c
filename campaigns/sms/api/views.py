from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from campaigns.sms.api.filters import DeadLetterFilter, MessageFilter
from campaigns.sms.api.serializers import (
    DeadLetterRetryResultSerializer,
    DeadLetterRetrySerializer,
    DeadLetterSummaryQuerySerializer,
    DeadLetterSummarySerializer,
    MessageSerializer,
)
from campaigns.sms.dead_letters import dead_letters_summary, messages_retry
from messaging.models import Message
from orgs.api.base import TenantViewSet
from orgs.api.pagination import CreatedCursorPagination, UpdatedCursorPagination
from orgs.models import Scope


class _MessageListViewSet(mixins.ListModelMixin, TenantViewSet):
    serializer_class = MessageSerializer
    read_scopes = (Scope.MESSAGES_READ, Scope.MESSAGES_MANAGE)
    write_scopes = (Scope.MESSAGES_MANAGE,)


class MessageViewSet(mixins.RetrieveModelMixin, _MessageListViewSet):
    """Texts: campaign messages as queued, sent and reported by the carrier (read-only)."""

    queryset = Message.objects.select_related("variant")
    filterset_class = MessageFilter
    pagination_class = CreatedCursorPagination


class DeadLetterViewSet(_MessageListViewSet):
    """Texts that failed with a reason, the latest failure first; retryable ones can be queued
    again."""

    queryset = Message.objects.exclude(failure_reason="").select_related("variant")
    filterset_class = DeadLetterFilter
    pagination_class = UpdatedCursorPagination

    @extend_schema(
        operation_id="dead_letters_summary",
        parameters=[DeadLetterSummaryQuerySerializer],
        responses=DeadLetterSummarySerializer,
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def summary(self, request):
        """Dead letters counted by reason, and by campaign and reason (`?campaign=`: one's)."""
        query = DeadLetterSummaryQuerySerializer(
            data=request.query_params, context=self.get_serializer_context()
        )
        query.is_valid(raise_exception=True)
        campaign = query.validated_data.get("campaign")
        summary = dead_letters_summary(
            org=self.organization, campaign_id=campaign.pk if campaign else None
        )
        return Response(DeadLetterSummarySerializer(summary).data)

    @extend_schema(
        operation_id="dead_letters_retry",
        request=DeadLetterRetrySerializer,
        responses=DeadLetterRetryResultSerializer,
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def retry(self, request):
        """Queue dead letters again, due now: by `ids`, or by `failure_reason` and/or
        `campaign`. Only texts that failed before the carrier took them are queued; the rest
        are skipped and counted. A failure_reason that is never retried (UNDELIVERED) is a 400.
        """
        data = DeadLetterRetrySerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        campaign = data.validated_data.get("campaign")
        result = messages_retry(
            org=self.organization,
            now=timezone.now(),
            ids=data.validated_data.get("ids"),
            failure_reason=data.validated_data.get("failure_reason"),
            campaign_id=campaign.pk if campaign else None,
        )
        return Response(DeadLetterRetryResultSerializer(result).data)
