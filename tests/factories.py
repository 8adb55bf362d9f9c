import factory

from campaigns.models import CallAttempt, Campaign
from dids.models import Did, SenderPool
from messaging.models import Message, MessageVariant
from orgs.alerts import alert_emit
from orgs.models import ALL_SCOPES, AlertDelivery, Organization
from orgs.services import api_key_create
from prospects.models import Prospect, ProspectPhone, Suppression


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")


class ProspectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Prospect

    campaign = factory.SubFactory(CampaignFactory)
    organization = factory.SelfAttribute("campaign.organization")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")


class ProspectPhoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProspectPhone

    prospect = factory.SubFactory(ProspectFactory)
    campaign = factory.SelfAttribute("prospect.campaign")
    position = 0
    e164 = factory.Sequence(lambda n: f"+1415555{n % 10000:04d}")
    time_zones = factory.LazyFunction(lambda: ["America/Los_Angeles"])


class SuppressionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Suppression

    organization = factory.SubFactory(OrganizationFactory)
    e164 = factory.Sequence(lambda n: f"+1212555{n % 10000:04d}")
    reason = Suppression.Reason.DNC


class DidFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Did

    organization = factory.SubFactory(OrganizationFactory)
    e164 = factory.Sequence(lambda n: f"+1415666{n % 10000:04d}")
    area_code = "415"
    region = "US"


class OneOffCallFactory(factory.django.DjangoModelFactory):
    """A call placed through POST /api/v1/calls/, in flight unless told otherwise."""

    class Meta:
        model = CallAttempt

    organization = factory.SubFactory(OrganizationFactory)
    pool = CallAttempt.Pool.API
    to = factory.Sequence(lambda n: f"+1800555{n % 10000:04d}")
    from_number = "+14156660001"
    status = CallAttempt.Status.IN_FLIGHT
    sid = factory.Sequence(lambda n: f"CA{n:032x}")


class SenderPoolFactory(factory.django.DjangoModelFactory):
    """A pool without caller IDs: give them with `pool.dids.set(...)`."""

    class Meta:
        model = SenderPool

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Pool {n}")


class MessageVariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MessageVariant

    campaign = factory.SubFactory(CampaignFactory, channel=Campaign.Channel.SMS, sms_mode="blast")
    name = "A"
    body = "Hi {first_name|there}, spring sale today."


class MessageFactory(factory.django.DjangoModelFactory):
    """A campaign's text, queued unless told otherwise."""

    class Meta:
        model = Message

    campaign = factory.SubFactory(CampaignFactory, channel=Campaign.Channel.SMS, sms_mode="blast")
    organization = factory.SelfAttribute("campaign.organization")
    to = factory.Sequence(lambda n: f"+1415777{n % 10000:04d}")
    body = "Hi there, spring sale today."


def make_dead_letter(campaign, reason: str, **fields) -> Message:
    """A text of `campaign` that failed for `reason`, its prospect's status saying so."""
    prospect_status = "cancelled" if reason == Message.FailureReason.CONTACT_BLOCKED else "failed"
    return MessageFactory(
        **{
            "campaign": campaign,
            "prospect": ProspectFactory(campaign=campaign, status=prospect_status),
            "status": Message.Status.FAILED,
            "failure_reason": reason,
            "failure_detail": f"{reason} happened",
            "submitted": False,
            **fields,
        }
    )


def make_key(org, scopes=ALL_SCOPES) -> str:
    return api_key_create(org=org, name="test", scopes=list(scopes))[1]


def make_prospect(campaign, *numbers: str, **fields) -> Prospect:
    """A prospect of `campaign` with `numbers` (E.164) at positions 0, 1, …"""
    prospect = ProspectFactory(campaign=campaign, **fields)
    for position, e164 in enumerate(numbers):
        ProspectPhoneFactory(prospect=prospect, position=position, e164=e164)
    return prospect


def make_alert(org, event: str = "campaign.paused.no_dids", **data) -> AlertDelivery:
    """An alert of `org` (given a webhook URL if it has none), not delivered yet."""
    if not org.alert_webhook_url:
        org.alert_webhook_url = "https://hooks.test/outbound"
        Organization.objects.filter(pk=org.pk).update(alert_webhook_url=org.alert_webhook_url)
    return alert_emit(org=org, event=event, data=data)
