"""Building SMS campaigns for tests: a sender pool, a blast with its variants, its audience."""

from dids.models import SenderPool
from messaging.models import MessageVariant
from tests.factories import CampaignFactory, DidFactory


def sender_pool(
    org, *numbers: str, rate_per_minute: int = 100_000, mps: float = 1000
) -> SenderPool:
    """A pool of `org`'s caller IDs `numbers` (created), fast unless told otherwise."""
    pool = SenderPool.objects.create(organization=org, name=f"pool {SenderPool.objects.count()}",
                                     rate_per_minute=rate_per_minute)  # fmt: skip
    for e164 in numbers:
        pool.dids.add(DidFactory(organization=org, e164=e164, area_code=e164[2:5], sms_mps=mps))
    return pool


def blast(org, pool, *variants: tuple[str, int], **fields):
    """A created SMS blast of `org` texting from `pool`, with (body, percentage) variants."""
    campaign = CampaignFactory(
        organization=org, channel="sms", sms_mode="blast", sender_pool=pool, **fields
    )
    for i, (body, percentage) in enumerate(variants or [("Hi {first_name|there}!", 100)]):
        MessageVariant.objects.create(
            campaign=campaign, name="ABCDEFGH"[i], body=body, percentage=percentage, position=i
        )
    return campaign
