from dids.api.filters import DidFilter
from dids.api.serializers import DidSerializer
from dids.models import Did
from orgs.api.base import TenantModelViewSet
from orgs.models import Scope


class DidViewSet(TenantModelViewSet):
    queryset = Did.objects.all()
    serializer_class = DidSerializer
    filterset_class = DidFilter
    read_scopes = (Scope.DIDS_READ, Scope.DIDS_MANAGE)
    write_scopes = (Scope.DIDS_MANAGE,)
