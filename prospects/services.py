"""Writes for prospects and the suppression list."""

from django.db import transaction
from django.utils import timezone

from prospects.models import Prospect, ProspectPhone, Suppression


def _prospects_with_number(*, org, e164: str):
    return Prospect.objects.filter(
        organization=org,
        id__in=ProspectPhone.objects.filter(e164=e164, campaign__organization=org).values(
            "prospect_id"
        ),
    )


@transaction.atomic
def suppression_add(*, org, e164: str, reason: str, source: str = "") -> tuple[Suppression, bool]:
    """Suppress a number for an org and cancel its queued work in every campaign of the org.

    Idempotent: an existing entry is kept as it is. Returns (entry, created).
    """
    entry, created = Suppression.objects.get_or_create(
        organization=org, e164=e164, defaults={"reason": reason, "source": source}
    )
    _prospects_with_number(org=org, e164=e164).filter(status=Prospect.Status.QUEUED).update(
        status=Prospect.Status.CANCELLED, last_outcome="suppressed", updated_at=timezone.now()
    )
    return entry, created


def suppression_remove_opt_out(*, org, e164: str) -> int:
    """START/YES/UNSTOP: lift a STOP opt-out (never a DNC, complaint or manual entry)."""
    deleted, _ = Suppression.objects.filter(
        organization=org, e164=e164, reason=Suppression.Reason.STOP
    ).delete()
    return deleted


def prospects_mark_replied(*, org, e164: str) -> int:
    return _prospects_with_number(org=org, e164=e164).update(
        replied_at=timezone.now(), updated_at=timezone.now()
    )
