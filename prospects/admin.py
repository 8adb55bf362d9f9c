from django.contrib import admin

from orgs.admin_scoping import OrgScopedAdmin
from prospects.models import Prospect, ProspectPhone, Suppression


class ProspectPhoneInline(admin.TabularInline):
    model = ProspectPhone
    extra = 0
    fields = ("position", "e164", "time_zones")
    readonly_fields = ("time_zones",)


@admin.register(Prospect)
class ProspectAdmin(OrgScopedAdmin):
    list_display = (
        "id",
        "first_name",
        "last_name",
        "campaign",
        "status",
        "priority",
        "attempt_count",
        "next_attempt_at",
        "last_outcome",
    )
    list_filter = ("status", "campaign__organization")
    search_fields = ("first_name", "last_name", "email", "phones__e164")
    readonly_fields = (
        "time_zones",
        "attempt_count",
        "locked_by",
        "locked_at",
        "created_at",
        "updated_at",
    )
    raw_id_fields = ("campaign",)
    list_select_related = ("campaign",)
    inlines = (ProspectPhoneInline,)
    show_full_result_count = False


@admin.register(Suppression)
class SuppressionAdmin(OrgScopedAdmin):
    list_display = ("e164", "organization", "reason", "source", "created_at")
    list_filter = ("reason", "organization")
    search_fields = ("e164",)
