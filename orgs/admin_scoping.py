"""The admin shows an operator only their organizations' rows (superusers see everything)."""

from django.contrib import admin

from orgs.models import Organization


def admin_org_ids(request) -> list[int] | None:
    """Ids of the organizations the admin user may see; None means all (superuser)."""
    if request.user.is_superuser:
        return None
    cached = getattr(request, "_admin_org_ids", None)
    if cached is None:
        cached = list(
            Organization.objects.filter(memberships__user=request.user).values_list("id", flat=True)
        )
        request._admin_org_ids = cached
    return cached


class OrgScopedAdmin(admin.ModelAdmin):
    """Base admin for tenant rows: querysets, foreign-key choices and saves stay in the org."""

    org_field = "organization"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        ids = admin_org_ids(request)
        return qs if ids is None else qs.filter(**{f"{self.org_field}__in": ids})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        ids = admin_org_ids(request)
        if ids is not None:
            related = db_field.related_model
            if related is Organization:
                kwargs["queryset"] = Organization.objects.filter(id__in=ids)
            elif any(f.name == "organization" for f in related._meta.fields):
                kwargs["queryset"] = related._default_manager.filter(organization_id__in=ids)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff


class OrgReadOnlyAdmin(OrgScopedAdmin):
    """Tenant rows the system writes (texts, alerts): shown, never added, edited or deleted."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
