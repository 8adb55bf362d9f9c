"""The caller's organization's SMS settings: its credit and its blocked words."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.response import Response
from rest_framework.views import APIView

from orgs.api.base import ApiKeyRateThrottle
from orgs.api.serializers import BlockedWordsSerializer, CreditsAddSerializer, CreditsSerializer
from orgs.models import Scope
from orgs.services import credits_add, org_set_blocked_words


class _OrgSettingView(APIView):
    """One setting of the caller's organization: GET answers `{setting: value}`."""

    setting: str
    throttle_classes = (ApiKeyRateThrottle,)

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
