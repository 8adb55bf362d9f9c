from django.contrib import admin, messages

from orgs.admin_scoping import OrgScopedAdmin, admin_org_ids
from orgs.models import ApiKey, Membership, Organization
from orgs.services import api_key_revoke


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "slug",
        "concurrency_limit",
        "default_region",
        "default_timezone",
        "is_active",
        "created_at",
    )
    list_filter = ("is_active",)
    search_fields = ("name", "slug")
    inlines = (MembershipInline,)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        ids = admin_org_ids(request)
        return qs if ids is None else qs.filter(id__in=ids)


@admin.register(ApiKey)
class ApiKeyAdmin(OrgScopedAdmin):
    list_display = (
        "name",
        "organization",
        "prefix",
        "scope_list",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("organization",)
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "hashed_key", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke",)

    def has_add_permission(self, request):
        return False  # keys are created with `manage.py create_api_key`, which shows them once

    @admin.display(description="scopes")
    def scope_list(self, obj):
        return ", ".join(obj.scopes)

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        count = sum(api_key_revoke(key=key) for key in queryset)
        self.message_user(request, f"Revoked {count} key(s).", messages.SUCCESS)


@admin.register(Membership)
class MembershipAdmin(OrgScopedAdmin):
    list_display = ("user", "organization", "role", "created_at")
    list_filter = ("role",)
