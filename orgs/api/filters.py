from datetime import timedelta

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField

from orgs.models import AlertDelivery

MAX_UTC_OFFSET = timedelta(hours=14)  # Kiribati's; PostgreSQL refuses a literal beyond 15:59


class _InstantField(IsoDateTimeField):
    def to_python(self, value):
        value = super().to_python(value)
        offset = value.utcoffset() if value is not None else None
        if offset is not None and abs(offset) > MAX_UTC_OFFSET:
            raise ValidationError(
                "Give a UTC offset between -14:00 and +14:00, or Z.", code="offset"
            )
        return value


class InstantFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 instant (`2026-03-01T09:00:00Z`, `...+02:00`); an offset no place uses is a
    400 naming the field, not a database error."""

    field_class = _InstantField


def caller_org_rows(model):
    """A ModelChoiceFilter's queryset: only the caller's organization's rows of `model` are
    valid choices, so another org's id is "not a valid choice", exactly like an id that does
    not exist."""

    def queryset(request):
        auth = getattr(request, "auth", None)
        if auth is None:
            return model.objects.none()
        return model.objects.filter(organization=auth.organization)

    return queryset


class AlertFilter(django_filters.FilterSet):
    created_after = InstantFilter(field_name="created_at", lookup_expr="gte")
    created_before = InstantFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AlertDelivery
        fields = {"status": ["exact", "in"], "event": ["exact", "in"]}
