"""Demo data: an organization, an operator, an API key, caller IDs, a campaign and prospects."""

import io
import random
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction

from campaigns.models import Campaign
from dids.models import Did
from dids.services import did_number_fields
from orgs.models import ALL_SCOPES, Membership, Organization
from orgs.selectors import api_key_get_by_raw
from orgs.services import api_key_create, org_create
from prospects.importing import prospects_import, suppressions_import

DEMO_APPS = ("orgs", "prospects", "dids", "campaigns", "messaging")
AREA_CODES = ("212", "312", "415", "512", "617", "702", "808", "907")
FIRST = ("Ada", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea")
LAST = ("Ng", "Olsen", "Park", "Quinn", "Rossi", "Silva", "Tan", "Ueda", "Vega", "Wong")


class Command(BaseCommand):
    help = "Create (or refresh) the demo organization, users, API key and sample data."

    def add_arguments(self, parser):
        parser.add_argument("--prospects", type=int, default=500)
        parser.add_argument("--key-file", default=str(settings.VAR_DIR / "demo_api_key.txt"))

    @transaction.atomic
    def handle(self, *args, **opts):
        org = Organization.objects.filter(slug="demo").first() or org_create(
            name="Demo Outbound Co", slug="demo", concurrency_limit=20
        )
        self._users(org)
        key = self._api_key(org, Path(opts["key_file"]))
        for i, area in enumerate(AREA_CODES):
            e164 = f"+1{area}555{i:04d}"
            Did.objects.get_or_create(
                organization=org,
                e164=e164,
                defaults={**did_number_fields(e164), "friendly_name": f"Demo line {area}"},
            )
        campaign, created = Campaign.objects.get_or_create(
            organization=org,
            name="Demo voice campaign",
            defaults={
                "calls_per_second": 2,
                "calling_windows": [
                    {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "20:00"},
                    {"days": ["sat"], "start": "10:00", "end": "17:00"},
                ],
            },
        )
        if created or not campaign.prospects.exists():
            rng = random.Random(7)
            dnc = [f"+1{rng.choice(AREA_CODES)}555{9000 + i:04d}" for i in range(10)]
            suppressions_import(
                org=org,
                fileobj=io.BytesIO(
                    ("phone,reason\n" + "\n".join(f"{n},dnc" for n in dnc) + "\n").encode()
                ),
                source="demo",
            )
            rows = ["phone,first_name,last_name,email,timezone,plan"]
            for i in range(opts["prospects"]):
                first, last = rng.choice(FIRST), rng.choice(LAST)
                phone = (
                    dnc[i % len(dnc)]
                    if i % 50 == 0
                    else f"({rng.choice(AREA_CODES)}) {rng.randint(200, 999)}-{i:04d}"
                )
                rows.append(
                    f"{phone},{first},{last},{first.lower()}.{last.lower()}@example.com,,"
                    f"{rng.choice(['basic', 'pro'])}"
                )
            rows.append("555-0100,Bad,Row,,,")  # an invalid number, reported with its line
            result = prospects_import(
                campaign=campaign, fileobj=io.BytesIO(("\n".join(rows) + "\n").encode())
            )
            self.stdout.write(
                f"Imported sample prospects: {result['imported']} queued, "
                f"{result['suppressed']} suppressed, {result['error_count']} "
                "rejected."
            )
        self.stdout.write(f"Demo org: {org.slug}; campaign id {campaign.pk}.")
        self.stdout.write(f"API key (also in {opts['key_file']}):")
        self.stdout.write(key)

    def _users(self, org):
        User = get_user_model()
        if not User.objects.filter(username="admin").exists():
            User.objects.create_superuser("admin", "admin@example.com", "admin")
        operator = User.objects.filter(username="operator").first()
        if operator is None:
            operator = User.objects.create_user(
                "operator", "operator@example.com", "operator", is_staff=True
            )
        group, _ = Group.objects.get_or_create(name="Operators")
        group.permissions.set(Permission.objects.filter(content_type__app_label__in=DEMO_APPS))
        operator.groups.add(group)
        Membership.objects.get_or_create(
            user=operator, organization=org, defaults={"role": Membership.Role.ADMIN}
        )

    def _api_key(self, org, path: Path) -> str:
        if path.exists():
            raw = path.read_text().strip()
            if api_key_get_by_raw(raw_key=raw) is not None:
                return raw
        _, raw = api_key_create(org=org, name="demo", scopes=list(ALL_SCOPES))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(raw + "\n")
        return raw
