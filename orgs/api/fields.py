"""Serializer fields that keep a request inside the caller's organization."""

from rest_framework import serializers


class OrgPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """The id of one of the caller's organization's rows (`queryset` names the model): another
    organization's id is "does not exist", exactly like an id that does not exist."""

    def get_queryset(self):
        org = self.context.get("organization")
        queryset = super().get_queryset()
        return queryset.filter(organization=org) if org is not None else queryset.none()
