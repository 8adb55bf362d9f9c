"""Demo data: an organization, its users and API key, 20 caller IDs, a fresh voice campaign and
a fresh SMS blast texting from a sender pool of those caller IDs.

Run again, it brings the same organization, users, key and sender pool up to date, replaces
the demo campaigns with new ones (the old ones' prospects, attempts and texts go with them),
tops the organization's SMS credit up and moves the 20 caller IDs to the area codes the new
campaigns call and text.

The prospects live where the federal calling window (08:00-21:00 recipient-local) is open now
and stays open for `--window-minutes`, so the campaign can finish whatever the hour without
bending the compliance rules: US area codes from the East Coast to Guam, else Canada's Atlantic
provinces, else London, whichever tier first has one open.
"""

import datetime as dt
import io
import random
from pathlib import Path

import phonenumbers
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign
from dids.models import Did, SenderPool
from dids.services import did_number_fields
from messaging.models import MessageVariant
from orgs.models import ALL_SCOPES, Membership, Organization
from orgs.selectors import api_key_get_by_raw
from orgs.services import api_key_create, org_create
from prospects import windows
from prospects.importing import prospects_import, suppressions_import
from prospects.models import Suppression

DEMO_APPS = ("orgs", "prospects", "dids", "campaigns", "messaging")
DEMO_CAMPAIGN = "Demo voice campaign"
DEMO_BLAST = "Demo SMS blast"
SENDER_POOL = "Demo senders"
DIDS = 20
# Each caller ID texts 25 segments a second (the demo's carrier paces long codes the same,
# demo/scenario.py), the pool 500 texts a second in all.
SMS_MPS = 25
POOL_RATE_PER_MINUTE = 30_000
CREDITS_PER_PROSPECT = 3  # segments of credit a blast gets, more than its texts take
VARIANTS = (  # (name, text, percentage): one with a link, whose clicks are counted
    ("A", "Hi {first_name}, your {plan} plan renews next week. Questions? Just reply. "
     "Reply STOP to opt out.", 50),
    ("B", "{first_name}, spring prices are in: see what the {plan} plan gets you at "
     "https://demo.example.com/spring Reply STOP to opt out.", 50),
)  # fmt: skip
# An offer some imported rows carry that the organization's blocked words catch: their texts
# are dead-lettered (BLOCKED_CONTENT) before the carrier is asked.
BLOCKED_WORDS = ["casino"]
FLAGGED_PLAN = "casino night"
FLAGGED_SHARE = 0.002
# Number prefixes by tier (the first tier with a prefix inside the window now is used), each
# with the place its caller IDs are named after. US territories keep the US tier open from
# 12:00 UTC (Puerto Rico) round to 11:00 UTC (Guam).
TIERS: tuple[dict[str, str], ...] = (
    {
        "+1212": "New York",
        "+1617": "Boston",
        "+1305": "Miami",
        "+1312": "Chicago",
        "+1214": "Dallas",
        "+1303": "Denver",
        "+1602": "Phoenix",
        "+1415": "San Francisco",
        "+1206": "Seattle",
        "+1907": "Anchorage",
        "+1808": "Honolulu",
        "+1787": "San Juan",
        "+1671": "Guam",
    },
    {"+1709": "St. John's", "+1902": "Halifax"},
    {"+44207": "London"},
)
FIRST = ("Ada", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea")
LAST = ("Ng", "Olsen", "Park", "Quinn", "Rossi", "Silva", "Tan", "Ueda", "Vega", "Wong")
DNC_SHARE = 0.01  # prospects on the suppression list: imported, never dialed


class Command(BaseCommand):
    help = "Create (or refresh) the demo organization, users, API key, caller IDs and campaign."

    def add_arguments(self, parser):
        parser.add_argument("--prospects", type=int, default=2000)
        parser.add_argument(
            "--sms-prospects", type=int, default=5000, help="the blast's audience (0: no blast)"
        )
        parser.add_argument("--key-file", default=str(settings.VAR_DIR / "demo_api_key.txt"))
        parser.add_argument("--concurrency-limit", type=int, default=40, help="the org's limit")
        parser.add_argument("--calls-per-second", type=float, default=25)
        parser.add_argument("--retry-delay-minutes", type=int, default=1)
        parser.add_argument(
            "--window-minutes",
            type=int,
            default=30,
            help="the prospects' calling window must stay open this long",
        )
        parser.add_argument("--seed", type=int, default=7, help="seeds the generated prospects")

    @transaction.atomic
    def handle(self, *args, **opts):
        org = Organization.objects.filter(slug="demo").first() or org_create(
            name="Demo Outbound Co", slug="demo"
        )
        Organization.objects.filter(pk=org.pk).update(
            concurrency_limit=opts["concurrency_limit"],
            sms_credits=CREDITS_PER_PROSPECT * opts["sms_prospects"],
            blocked_words=BLOCKED_WORDS,
        )
        self._users(org)
        key = self._api_key(org, Path(opts["key_file"]))
        places = callable_prefixes(timezone.now(), dt.timedelta(minutes=opts["window_minutes"]))
        dids_sync(org, places)
        campaign = self._campaign(org, opts)
        result = self._prospects(campaign, list(places), opts["prospects"], opts["seed"])
        blast = self._blast(org, list(places), opts["sms_prospects"], opts["seed"] + 1)
        self.stdout.write(
            f"Calling {', '.join(f'{p} ({place})' for p, place in places.items())}: inside the "
            "federal window now."
        )
        self.stdout.write(
            f"{result['imported'] + result['suppressed']:,} prospects: {result['imported']:,} "
            f"queued, {result['suppressed']} on the DNC list (kept, never dialed); "
            f"{result['error_count']} bad row rejected."
        )
        if blast is not None:
            self.stdout.write(
                f"SMS blast: {opts['sms_prospects']:,} prospects, texted from the "
                f"{DIDS} caller IDs at {SMS_MPS} segments/s each; "
                f"{CREDITS_PER_PROSPECT * opts['sms_prospects']:,} segments of credit."
            )
        blast_id = f", SMS blast id {blast.pk}" if blast is not None else ""
        self.stdout.write(f"Demo org: {org.slug}; campaign id {campaign.pk}{blast_id}.")
        self.stdout.write(f"API key (also in {opts['key_file']}):")
        self.stdout.write(key)

    def _campaign(self, org, opts) -> Campaign:
        """A fresh demo campaign; the last run's goes, with its prospects and attempts."""
        Campaign.objects.filter(organization=org, name=DEMO_CAMPAIGN).delete()
        return Campaign.objects.create(
            organization=org,
            name=DEMO_CAMPAIGN,
            calls_per_second=opts["calls_per_second"],
            retry_delay_minutes=opts["retry_delay_minutes"],
            max_attempts_per_phone_number=2,
            calling_policy=Campaign.CallingPolicy.FEDERAL,
            # A message left on a machine is final; busy and no answer are tried again.
            voicemail_drop="Hi, this is Demo Outbound Co about your plan. Please call us back.",
        )

    def _blast(self, org, prefixes: list[str], count: int, seed: int) -> Campaign | None:
        """A fresh SMS blast (the last run's goes, with its texts) from the demo's pool."""
        Campaign.objects.filter(organization=org, name=DEMO_BLAST).delete()
        if count <= 0:
            return None
        pool, _ = SenderPool.objects.update_or_create(
            organization=org, name=SENDER_POOL, defaults={"rate_per_minute": POOL_RATE_PER_MINUTE}
        )
        pool.dids.set(Did.objects.filter(organization=org))
        blast = Campaign.objects.create(
            organization=org,
            name=DEMO_BLAST,
            channel=Campaign.Channel.SMS,
            sms_mode=Campaign.SmsMode.BLAST,
            sender_pool=pool,
            calling_policy=Campaign.CallingPolicy.FEDERAL,
        )
        for position, (name, body, percentage) in enumerate(VARIANTS):
            MessageVariant.objects.create(
                campaign=blast, name=name, body=body, percentage=percentage, position=position
            )
        self._prospects(
            blast, prefixes, count, seed, source="demo-sms", flagged=int(count * FLAGGED_SHARE)
        )
        return blast

    def _prospects(
        self, campaign, prefixes: list[str], count: int, seed: int, *, source="demo", flagged=0
    ) -> dict:
        """Generated prospects through the real import (with the DNC list it checks); the
        last `flagged` carry FLAGGED_PLAN."""
        rng = random.Random(seed)
        numbers = generate_numbers(rng, prefixes, count)
        dnc = numbers[: max(1, int(count * DNC_SHARE))]
        Suppression.objects.filter(organization=campaign.organization, source=source).delete()
        suppressions_import(
            org=campaign.organization,
            fileobj=io.BytesIO(("phone,reason\n" + "\n".join(f"{n},dnc" for n in dnc)).encode()),
            source=source,
        )
        rows = ["phone,first_name,last_name,email,plan"]
        for i, number in enumerate(numbers):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            plan = rng.choice(["basic", "pro"]) if i < count - flagged else FLAGGED_PLAN
            rows.append(
                f"{_written(rng, number)},{first},{last},"
                f"{first.lower()}.{last.lower()}{i}@example.com,{plan}"
            )
        rows.append("555-0100,Bad,Row,,")  # an invalid number, reported with its line
        return prospects_import(
            campaign=campaign, fileobj=io.BytesIO(("\n".join(rows) + "\n").encode())
        )

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


def callable_prefixes(now: dt.datetime, margin: dt.timedelta) -> dict[str, str]:
    """{prefix: place} of the first tier with prefixes inside the window from now to now+margin.

    A window is one span a day, so being open at both ends means open all along.
    """
    for tier in TIERS:
        open_ = {
            prefix: place
            for prefix, place in tier.items()
            if all(_callable(fictional_number(prefix, 100), at) for at in (now, now + margin))
        }
        if open_:
            return open_
    raise RuntimeError("no demo number prefix is inside the calling window now")  # unreachable


def _callable(e164: str, at: dt.datetime) -> bool:
    return windows.check(e164, at).allowed


def fictional_number(prefix: str, line: int) -> str:
    """A number reserved for fiction: 555-01xx in North America, 020 7946 0xxx in London.
    Every prefix of TIERS is followed by seven digits."""
    return f"{prefix}{'555' if prefix.startswith('+1') else '946'}{line:04d}"


def generate_numbers(rng: random.Random, prefixes: list[str], count: int) -> list[str]:
    """`count` distinct valid numbers spread over the prefixes, with realistic exchanges."""
    numbers: dict[str, None] = {}
    while len(numbers) < count:
        prefix = prefixes[len(numbers) % len(prefixes)]
        number = f"{prefix}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        if number[len(prefix) :].startswith(("555", "946")):
            continue
        if phonenumbers.is_valid_number(phonenumbers.parse(number)):
            numbers[number] = None
    return list(numbers)


def _written(rng: random.Random, e164: str) -> str:
    """A North American number the way people type it (the import normalises every one)."""
    if not e164.startswith("+1"):
        return e164
    area, exchange, line = e164[2:5], e164[5:8], e164[8:]
    return rng.choice(
        (f"({area}) {exchange}-{line}", f"{area}-{exchange}-{line}", f"+1 {area} {exchange} {line}")
    )


def dids_sync(org, places: dict[str, str]) -> None:
    """The org's caller IDs become DIDS fictional local numbers spread over `places`; numbers
    an earlier run placed elsewhere are removed."""
    prefixes = list(places)
    wanted = {
        fictional_number(prefixes[k % len(prefixes)], 100 + k): places[prefixes[k % len(prefixes)]]
        for k in range(DIDS)
    }
    Did.objects.filter(organization=org).exclude(e164__in=wanted).delete()
    for e164, place in wanted.items():
        Did.objects.update_or_create(
            organization=org,
            e164=e164,
            defaults={
                **did_number_fields(e164),
                "friendly_name": f"Demo line {place}",
                "state": Did.State.ACTIVE,
                "health_score": 1.0,
                "sms_enabled": True,
                "sms_mps": SMS_MPS,
            },
        )
