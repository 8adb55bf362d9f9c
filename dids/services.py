"""Writes for caller IDs."""

from datetime import datetime

import phonenumbers
from django.db.models import QuerySet
from django.utils import timezone

from dids.health import cooldowns_end
from dids.models import Did
from orgs.api.errors import DomainError


class NotCooling(DomainError):
    """Only a cooling caller ID can be released from its cooldown (HTTP 409, naming its state)."""

    def __init__(self, state: str):
        self.state = state
        super().__init__(
            f"Cannot release a caller ID that is {state}.",
            code="invalid_transition",
            extra={"state": state},
        )


def did_number_fields(e164: str) -> dict:
    """The fields derived from a caller ID's number: E.164, area code (NANP) and region."""
    parsed = phonenumbers.parse(e164)
    national = str(parsed.national_number)
    return {
        "e164": e164,
        "area_code": national[:3] if parsed.country_code == 1 else "",
        "region": phonenumbers.region_code_for_number(parsed) or "",
    }


def did_cooldown_end(*, did: Did, now: datetime | None = None) -> Did:
    """An operator ends a cooling caller ID's cooldown now (dids.health.cooldowns_end), or
    NotCooling naming the state it is in. The release is one conditional UPDATE, so neither
    the lifecycle nor a health update can slip in between the check and the change."""
    if not cooldowns_end(Did.objects.filter(pk=did.pk), now=now):
        state = Did.objects.filter(pk=did.pk).values_list("state", flat=True).first()
        if state is None:
            raise Did.DoesNotExist(f"Caller ID {did.pk} does not exist.")
        raise NotCooling(state)
    did.refresh_from_db()
    return did


def dids_release(*, dids: QuerySet[Did], now: datetime | None = None) -> int:
    """End the cooldown now of those of `dids` that are cooling; returns how many were."""
    return cooldowns_end(dids, now=now)


def dids_retire(*, dids: QuerySet[Did], now: datetime | None = None) -> int:
    """Take `dids` out of use for good (an operator's decision); returns how many changed."""
    return dids.exclude(state=Did.State.RETIRED).update(
        state=Did.State.RETIRED,
        cooldown_until=None,
        ramp_calls=None,
        updated_at=now or timezone.now(),
    )
