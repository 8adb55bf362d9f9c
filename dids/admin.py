from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils.html import format_html, format_html_join

from dids.health import DID_SUMS, cooldowns_end, did_health
from dids.models import Did, DidHealthEvent, SenderPool
from dids.selectors import RECENT_CALLS, did_recent_calls_list
from dids.services import (
    did_number_fields,
    dids_retire,
    sender_pool_dids_invalid,
)
from orgs.admin_scoping import OrgScopedAdmin, admin_org_ids
from prospects.phones import normalize_one


class DidForm(forms.ModelForm):
    class Meta:
        model = Did
        fields = (
            "organization",
            "e164",
            "friendly_name",
            "state",
            "voice_enabled",
            "sms_enabled",
            "sms_mps",
            "cooldown_until",
            "warming_until",
        )

    def clean(self):
        data = super().clean()
        org, raw = data.get("organization"), data.get("e164")
        if org and raw:
            number = normalize_one(raw, region=org.default_region)
            if number is None:
                self.add_error("e164", "Not a valid phone number.")
            else:
                data.update(did_number_fields(number.e164))
                self.instance.area_code = data["area_code"]
                self.instance.region = data["region"]
        return data


# The "last calls" strip: one square per call, colored by what it says of the caller ID.
STRIP_COLORS = {
    "person": "#2e7d32",  # answered by a person
    "machine": "#1565c0",  # answered by a machine or voicemail
    "no answer": "#9e9e9e",  # no answer or busy
    "spam": "#c62828",  # the carrier's spam signal
    "failed": "#ef6c00",  # any other failure
}
_SQUARE = (
    '<span title="{}" style="display:inline-block;width:5px;height:14px;'
    'margin-right:1px;background:{}"></span>'
)


def call_kind(event: DidHealthEvent) -> str:
    if event.spam:
        return "spam"
    if event.human:
        return "person"
    if event.answered:
        return "machine"
    if event.no_answer or event.outcome == "busy":
        return "no answer"
    return "failed"


def call_title(event: DidHealthEvent) -> str:
    parts = [event.outcome or "unknown"]
    if event.duration_seconds:
        parts.append(f"{event.duration_seconds} s")
    if event.sip_response_code:
        parts.append(f"SIP {event.sip_response_code}")
    return ", ".join(parts) + f" ({event.created_at:%Y-%m-%d %H:%M} UTC)"


def calls_strip(events: list[DidHealthEvent]) -> str:
    return format_html(
        '<span style="white-space:nowrap">{}</span>',
        format_html_join(
            "", _SQUARE, ((call_title(e), STRIP_COLORS[call_kind(e)]) for e in events)
        ),
    )


@admin.register(Did)
class DidAdmin(OrgScopedAdmin):
    list_display = (
        "e164",
        "organization",
        "area_code",
        "region",
        "state",
        "score",
        "warning",
        "last_calls",
        "voice_enabled",
        "sms_enabled",
        "last_call_at",
        "last_sms_at",
    )
    list_filter = ("state", "health_warning", "organization", "voice_enabled", "sms_enabled")
    search_fields = ("e164", "friendly_name")
    form = DidForm
    readonly_fields = (
        "area_code",
        "region",
        "health_score",
        "health_components",
        "last_calls",
        "warning",
        "health_since",
        *DID_SUMS,
        "health_seq",
        "health_floor",
        "cooldowns",
        "burned_at",
        "ramp_calls",
        "ramp_credit",
        "calls_today",
        "calls_today_on",
        "last_call_at",
        "last_sms_at",
        "created_at",
        "updated_at",
    )
    actions = ("release_from_cooldown", "retire")

    def get_changelist_instance(self, request):
        """The page's caller IDs carry their last calls, read in one query for the page."""
        changelist = super().get_changelist_instance(request)
        page = list(changelist.result_list)  # evaluated here, reused by the template
        recent = did_recent_calls_list(dids=page)
        for did in page:
            did.recent_calls = recent[did.id]
        return changelist

    @admin.display(description="score", ordering="health_score")
    def score(self, did: Did) -> str:
        return f"{did.health_score:.2f}"

    @admin.display(description="health warning", ordering="health_warning")
    def warning(self, did: Did) -> str:
        """A warning shows as one; a healthy caller ID shows nothing (Django's boolean icons
        would show a warning as a green tick and a healthy caller ID as a red cross)."""
        if not did.health_warning:
            return self.get_empty_value_display()
        return format_html(
            '<span class="health-warning" style="color: #ba2121; font-weight: bold">{}</span>',
            "⚠ warning",
        )

    @admin.display(description=f"last {RECENT_CALLS} calls")
    def last_calls(self, did: Did) -> str:
        events = getattr(did, "recent_calls", None)
        if events is None:  # the change form: one caller ID
            events = did_recent_calls_list(dids=[did])[did.id]
        return calls_strip(events) if events else self.get_empty_value_display()

    @admin.display(description="components")
    def health_components(self, did: Did) -> str:
        _, parts = did_health(did)
        return ", ".join(f"{name} {value:.2f}" for name, value in parts.items())

    @admin.action(description="Release from cooldown", permissions=["change"])
    def release_from_cooldown(self, request, queryset):
        selected = queryset.count()
        released = cooldowns_end(queryset)  # one conditional UPDATE, as did_cooldown_end's
        if released == selected:
            self.message_user(
                request, f"Released {_ids(released)} from cooldown.", messages.SUCCESS
            )
        else:
            self.message_user(
                request,
                f"Released {released} of {selected} selected caller IDs from cooldown; "
                "only cooling ones are released.",
                messages.WARNING,
            )

    @admin.action(description="Retire", permissions=["change"])
    def retire(self, request, queryset):
        retired = dids_retire(dids=queryset)
        self.message_user(request, f"Retired {_ids(retired)}.", messages.SUCCESS)


def _ids(n: int) -> str:
    return f"{n} caller ID" if n == 1 else f"{n} caller IDs"


# --- Sender pools ------------------------------------------------------------------------------


class SenderPoolForm(forms.ModelForm):
    class Meta:
        model = SenderPool
        fields = ("organization", "name", "rate_per_minute", "dids")

    def clean(self):
        data = super().clean()
        org, dids = data.get("organization"), data.get("dids")
        if org is not None and dids:
            invalid = set(sender_pool_dids_invalid(org_id=org.pk, did_ids=[d.pk for d in dids]))
            if invalid:
                numbers = ", ".join(d.e164 for d in dids if d.pk in invalid)
                self.add_error("dids", f"Not SMS-enabled caller IDs of {org}: {numbers}.")
        return data


@admin.register(SenderPool)
class SenderPoolAdmin(OrgScopedAdmin):
    form = SenderPoolForm
    list_display = ("name", "organization", "rate_per_minute", "caller_ids", "created_at")
    list_filter = ("organization",)
    list_select_related = ("organization",)
    search_fields = ("name",)
    filter_horizontal = ("dids",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(caller_id_count=Count("dids"))

    @admin.display(description="caller IDs", ordering="caller_id_count")
    def caller_ids(self, pool: SenderPool) -> int:
        return pool.caller_id_count

    def get_form(self, request, obj=None, change=False, **kwargs):
        """The caller IDs to choose from: SMS-enabled ones of the pool's organization (or of
        the admin's organizations for a new pool), and those already in the pool."""
        form = super().get_form(request, obj, change=change, **kwargs)
        if "dids" in form.base_fields:
            choices = Did.objects.filter(sms_enabled=True)
            if obj is not None:
                choices = Did.objects.filter(organization_id=obj.organization_id).filter(
                    Q(sms_enabled=True) | Q(sender_pools=obj)
                )
            elif (ids := admin_org_ids(request)) is not None:
                choices = choices.filter(organization_id__in=ids)
            form.base_fields["dids"].queryset = choices.distinct()
        return form
