"""Texts and their short links, read-only: an operator looks, and sends dead letters again."""

from collections import defaultdict

from django.contrib import admin, messages
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from campaigns.models import Campaign
from campaigns.sms.dead_letters import messages_retry
from messaging.models import Message, MessageShortLink
from orgs.admin_scoping import OrgReadOnlyAdmin, admin_org_ids
from orgs.models import Organization

RECENT_CLICKS = 20
CAMPAIGN_CHOICES = 100  # the filter lists the newest SMS campaigns; ?campaign=<id> takes any


class SmsCampaignFilter(admin.SimpleListFilter):
    """The admin's organizations' SMS campaigns, from the campaigns table (not a DISTINCT
    over the messages)."""

    title = "campaign"
    parameter_name = "campaign"

    def lookups(self, request, model_admin):
        campaigns = Campaign.objects.filter(channel=Campaign.Channel.SMS)
        ids = admin_org_ids(request)
        if ids is not None:
            campaigns = campaigns.filter(organization_id__in=ids)
        newest = campaigns.order_by("-created_at", "-id")[:CAMPAIGN_CHOICES]
        return [(c.pk, c.name) for c in newest.only("id", "name")]

    def queryset(self, request, queryset):
        return queryset.filter(campaign_id=self.value()) if self.value() else queryset


class _ReadOnlyAdmin(OrgReadOnlyAdmin):
    """Rows the engine writes, in big tables. Search is an exact match on
    `exact_search_fields` (their indexes serve it; icontains would scan the table)."""

    exact_search_fields: tuple[str, ...] = ()
    show_full_result_count = False
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        match = Q()
        for name in self.exact_search_fields:
            match |= Q(**{name: term})
        return queryset.filter(match), False


@admin.register(Message)
class MessageAdmin(_ReadOnlyAdmin):
    list_display = (
        "id",
        "to",
        "sender",
        "campaign",
        "organization",
        "status",
        "reason",
        "submitted",
        "delivered",
        "segments",
        "send_at",
        "created_at",
    )
    list_filter = ("status", "failure_reason", SmsCampaignFilter)
    list_select_related = ("sender", "campaign", "organization")
    search_fields = ("to", "sid")
    exact_search_fields = search_fields
    search_help_text = "A number in E.164 (+14155550101) or a carrier sid (SM…), exactly."
    actions = ("retry_selected",)

    @admin.display(description="failure reason", ordering="failure_reason")
    def reason(self, message: Message) -> str:
        return message.failure_reason or self.get_empty_value_display()

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("messaging.change_message")

    @admin.action(description="Retry selected", permissions=["retry"])
    def retry_selected(self, request, queryset):
        """Queue the selected dead letters again (campaigns.sms.dead_letters.messages_retry)."""
        by_org: dict[int, list[int]] = defaultdict(list)
        for org_id, pk in queryset.values_list("organization_id", "pk"):
            by_org[org_id].append(pk)
        now = timezone.now()
        requeued = skipped = 0
        for org in Organization.objects.filter(pk__in=by_org).order_by("pk"):
            result = messages_retry(org=org, ids=by_org[org.pk], now=now)
            requeued, skipped = requeued + result.requeued, skipped + result.skipped
        text = f"Queued {requeued} text(s) again."
        if skipped:
            text += (
                f" Skipped {skipped}: only texts that failed before the carrier took them are "
                "sent again (not UNDELIVERED ones, nor a cancelled campaign's)."
            )
        self.message_user(request, text, messages.WARNING if skipped else messages.SUCCESS)


@admin.register(MessageShortLink)
class MessageShortLinkAdmin(_ReadOnlyAdmin):
    list_display = (
        "code",
        "url",
        "campaign",
        "organization",
        "clicks",
        "first_clicked_at",
        "created_at",
    )
    list_select_related = ("campaign", "organization")
    search_fields = ("code",)
    exact_search_fields = search_fields
    search_help_text = "A short link's code, exactly."
    readonly_fields = ("recent_clicks",)

    @admin.display(description=f"last {RECENT_CLICKS} clicks")
    def recent_clicks(self, link: MessageShortLink) -> str:
        clicks = list(link.click_log.all()[:RECENT_CLICKS])
        if not clicks:
            return self.get_empty_value_display()
        rows = (
            (f"{c.clicked_at:%Y-%m-%d %H:%M:%S}", c.user_agent or "no user agent") for c in clicks
        )
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{} UTC: {}</li>", rows))
