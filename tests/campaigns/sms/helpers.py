"""Building SMS campaigns for tests: a sender pool, a blast or drip with its variants, its
audience, and numbers that may be texted at the real time."""

from datetime import timedelta

from django.utils import timezone

from dids.models import SenderPool
from messaging.models import MessageVariant
from prospects import windows
from tests.factories import CampaignFactory, DidFactory

# Numbers in zones around the world (a four-digit line to fill in): some may be texted at any
# hour.
_AROUND_THE_WORLD = (
    "+1415555{:04d}",  # Los Angeles
    "+1212555{:04d}",  # New York
    "+1808555{:04d}",  # Honolulu
    "+8131234{:04d}",  # Tokyo
    "+6129876{:04d}",  # Sydney
    "+659123{:04d}",  # Singapore
    "+3361234{:04d}",  # Paris
)


def sender_pool(
    org, *numbers: str, rate_per_minute: int = 100_000, mps: float = 1000
) -> SenderPool:
    """A pool of `org`'s caller IDs `numbers` (created), fast unless told otherwise."""
    pool = SenderPool.objects.create(organization=org, name=f"pool {SenderPool.objects.count()}",
                                     rate_per_minute=rate_per_minute)  # fmt: skip
    for e164 in numbers:
        pool.dids.add(DidFactory(organization=org, e164=e164, area_code=e164[2:5], sms_mps=mps))
    return pool


def blast(org, pool, *variants: tuple[str, int], sms_mode: str = "blast", **fields):
    """A created SMS campaign (a blast unless `sms_mode` says otherwise) of `org` texting from
    `pool`, with (body, percentage) variants."""
    campaign = CampaignFactory(
        organization=org, channel="sms", sms_mode=sms_mode, sender_pool=pool, **fields
    )
    for i, (body, percentage) in enumerate(variants or [("Hi {first_name|there}!", 100)]):
        MessageVariant.objects.create(
            campaign=campaign, name="ABCDEFGH"[i], body=body, percentage=percentage, position=i
        )
    return campaign


def drip(org, pool, *variants: tuple[str, int], **fields):
    """A created SMS drip of `org` texting from `pool`, with (body, percentage) variants."""
    return blast(org, pool, *variants, sms_mode="drip", **fields)


def zone_open_now() -> str:
    """A number template (`.format(line)`, a line of up to four digits) in a zone whose texting
    window is open now and for the next ten minutes, for tests that send through the executor
    at the real time."""
    now = timezone.now()
    for template in _AROUND_THE_WORLD:
        sample = template.format(101)
        if all(
            windows.check(sample, at, channel="sms").allowed
            for at in (now, now + timedelta(minutes=10))
        ):
            return template
    raise AssertionError("no zone of the list is inside the texting window now")


def numbers_open_now(count: int) -> list[str]:
    """`count` numbers in one zone whose texting window is open now (zone_open_now)."""
    template = zone_open_now()
    return [template.format(101 + n) for n in range(count)]
