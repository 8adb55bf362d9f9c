from django import forms
from django.contrib import admin

from dids.models import Did
from dids.services import did_number_fields
from orgs.admin_scoping import OrgScopedAdmin
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


@admin.register(Did)
class DidAdmin(OrgScopedAdmin):
    list_display = (
        "e164",
        "organization",
        "area_code",
        "region",
        "state",
        "health_score",
        "voice_enabled",
        "sms_enabled",
        "last_call_at",
        "last_sms_at",
    )
    list_filter = ("state", "organization", "voice_enabled", "sms_enabled")
    search_fields = ("e164", "friendly_name")
    form = DidForm
    readonly_fields = (
        "area_code",
        "region",
        "health_score",
        "last_call_at",
        "last_sms_at",
        "created_at",
        "updated_at",
    )
