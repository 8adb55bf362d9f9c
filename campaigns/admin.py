from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse

from campaigns.models import Campaign
from campaigns.services import (
    InvalidTransition,
    campaign_cancel,
    campaign_pause,
    campaign_resume,
    campaign_start,
)
from campaigns.validation import sms_mode_for, validate_variants
from messaging.models import MessageVariant
from orgs.admin_scoping import OrgScopedAdmin
from prospects.importing import ImportFileError, prospects_import


class ImportForm(forms.Form):
    file = forms.FileField(
        help_text="CSV with a header row: phone (required), phone2…, "
        "first_name, last_name, email, timezone; other columns become "
        "attributes."
    )


class CampaignForm(forms.ModelForm):
    def clean(self):
        data = super().clean()
        if "channel" in data:
            try:
                data["sms_mode"] = sms_mode_for(
                    channel=data["channel"], sms_mode=data.get("sms_mode", "")
                )
            except ValidationError as exc:
                self.add_error(None, exc)
        return data


class VariantFormSet(forms.BaseInlineFormSet):
    """The same rules as the API: unique names, percentages adding up to 100, SMS only."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        kept = [
            {name: form.cleaned_data[name] for name in ("name", "body", "percentage")}
            for form in self.forms
            if form.cleaned_data and not self._should_delete_form(form)
        ]
        if kept and self.instance.channel != Campaign.Channel.SMS:
            raise ValidationError("Only SMS campaigns have variants.")
        validate_variants(kept)


class MessageVariantInline(admin.TabularInline):
    model = MessageVariant
    formset = VariantFormSet
    fields = ("position", "name", "body", "percentage")
    extra = 0


@admin.register(Campaign)
class CampaignAdmin(OrgScopedAdmin):
    form = CampaignForm
    inlines = (MessageVariantInline,)
    list_display = (
        "name",
        "organization",
        "channel",
        "status",
        "pause_reason",
        "calls_per_second",
        "priority",
        "created_at",
    )
    list_filter = ("status", "channel", "organization")
    search_fields = ("name",)
    readonly_fields = (
        "status",
        "pause_reason",
        "audience",
        "created_at",
        "updated_at",
        "started_at",
        "finished_at",
    )
    change_form_template = "admin/campaigns/campaign/change_form.html"
    actions = ("start_campaigns", "pause_campaigns", "resume_campaigns", "cancel_campaigns")

    @admin.action(description="Start", permissions=["change"])
    def start_campaigns(self, request, queryset):
        self._transition(request, queryset, campaign_start, done="Started")

    @admin.action(description="Pause", permissions=["change"])
    def pause_campaigns(self, request, queryset):
        self._transition(request, queryset, campaign_pause, done="Paused")

    @admin.action(description="Resume", permissions=["change"])
    def resume_campaigns(self, request, queryset):
        self._transition(request, queryset, campaign_resume, done="Resumed")

    @admin.action(description="Cancel", permissions=["change"])
    def cancel_campaigns(self, request, queryset):
        self._transition(request, queryset, campaign_cancel, done="Cancelled")

    def _transition(self, request, queryset, service, *, done: str) -> None:
        """Call `service` for each selected campaign; one message per campaign."""
        for campaign in queryset.order_by("pk"):
            try:
                service(campaign=campaign)
            except InvalidTransition as exc:
                self.message_user(
                    request,
                    f"Could not {exc.action} “{campaign}”: it is {exc.status}.",
                    messages.WARNING,
                )
            except Campaign.DoesNotExist:
                self.message_user(request, f"“{campaign}” no longer exists.", messages.WARNING)
            else:
                self.message_user(request, f"{done} “{campaign}”.", messages.SUCCESS)

    def get_urls(self):
        return [
            path(
                "<int:pk>/import/",
                self.admin_site.admin_view(self.import_view),
                name="campaigns_campaign_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request, pk):
        campaign = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_change_permission(request, campaign):
            return redirect("admin:index")
        form = ImportForm(request.POST or None, request.FILES or None)
        result = None
        if request.method == "POST" and form.is_valid():
            try:
                result = prospects_import(campaign=campaign, fileobj=request.FILES["file"])
            except ImportFileError as exc:
                form.add_error("file", str(exc))
            else:
                self.message_user(
                    request,
                    f"Imported {result['imported']}, suppressed {result['suppressed']}, "
                    f"duplicates {result['duplicates']}, errors {result['error_count']}.",
                    messages.SUCCESS if not result["error_count"] else messages.WARNING,
                )
        return render(
            request,
            "admin/campaigns/campaign/import.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "campaign": campaign,
                "form": form,
                "result": result,
                "title": f"Import prospects into {campaign}",
                "back_url": reverse("admin:campaigns_campaign_change", args=[campaign.pk]),
            },
        )
