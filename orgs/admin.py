from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from orgs.admin_scoping import OrgReadOnlyAdmin, OrgScopedAdmin, admin_org_ids
from orgs.alerts import alert_secret_rotate
from orgs.models import AlertDelivery, ApiKey, Membership, Organization
from orgs.services import CREDITS_ADD_MAX, api_key_revoke, blocked_words_clean, credits_add


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


class OrganizationForm(forms.ModelForm):
    add_credits = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=CREDITS_ADD_MAX,
        help_text="Message segments to add to the SMS credit.",
    )

    def clean_blocked_words(self):
        words = self.cleaned_data.get("blocked_words") or []
        if not isinstance(words, list):
            raise forms.ValidationError('A list of words: ["casino", "free money"].')
        return blocked_words_clean(words)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    form = OrganizationForm
    readonly_fields = ("sms_credits",)  # changed only by adding (the engine spends meanwhile)
    list_display = (
        "name",
        "slug",
        "concurrency_limit",
        "sms_credits",
        "default_region",
        "default_timezone",
        "alert_webhook_url",
        "is_active",
        "created_at",
    )
    list_filter = ("is_active",)
    search_fields = ("name", "slug")
    inlines = (MembershipInline,)
    # The alert secret is never shown here; the action below replaces it and shows it once.
    exclude = ("alert_secret",)
    actions = ("rotate_alert_secret",)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        ids = admin_org_ids(request)
        return qs if ids is None else qs.filter(id__in=ids)

    def save_model(self, request, obj, form, change):
        """Writes only the fields the operator changed, so a save never puts back a credit
        balance (or anything else) that changed since the form was shown; added credit goes
        through credits_add."""
        if change:
            model_fields = {f.name for f in obj._meta.concrete_fields}
            obj.save(update_fields=[name for name in form.changed_data if name in model_fields])
        else:
            obj.save()
        if form.cleaned_data.get("add_credits"):
            credits_add(org=obj, segments=form.cleaned_data["add_credits"])

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "alert_webhook_url":
            kwargs["assume_scheme"] = "https"  # a URL typed without one
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.action(description="Rotate alert secret", permissions=("change",))
    def rotate_alert_secret(self, request, queryset):
        """New signing secrets for the selected organizations' alerts, shown on this page
        only (not in a message, which would travel in a cookie)."""
        rotated = [(org, alert_secret_rotate(org=org)) for org in queryset.order_by("name")]
        context = {
            **self.admin_site.each_context(request),
            "title": "New alert secrets",
            "opts": self.model._meta,
            "rotated": rotated,
        }
        # Admin pages are never cached (never_cache), this one included.
        return TemplateResponse(
            request, "admin/orgs/organization/rotated_alert_secrets.html", context
        )


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


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(OrgReadOnlyAdmin):
    """The alert log, read only: what was sent to each organization's webhook, and how."""

    list_display = (
        "event",
        "organization",
        "status",
        "attempts",
        "created_at",
        "delivered_at",
        "next_attempt_at",
    )
    list_filter = ("status", "event", ("organization", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("organization",)
    search_fields = ("event", "last_error")
    readonly_fields = tuple(f.name for f in AlertDelivery._meta.fields if not f.primary_key)
    fields = readonly_fields
