"""Writes for caller IDs."""

from datetime import datetime

import phonenumbers
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from dids.health import did_release
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
    """An operator ends a cooling caller ID's cooldown now (dids.health.did_release), or
    NotCooling naming the state it is in. The row is locked while it is checked and
    released, so neither the lifecycle nor a health update can slip in between."""
    with transaction.atomic():
        state = (
            Did.objects.select_for_update(no_key=True)
            .filter(pk=did.pk)
            .values_list("state", flat=True)
            .first()
        )
        if state is None:
            raise Did.DoesNotExist(f"Caller ID {did.pk} does not exist.")
        if state != Did.State.COOLING:
            raise NotCooling(state)
        return did_release(did, now=now)


def dids_release(*, dids: QuerySet[Did], now: datetime | None = None) -> int:
    """End the cooldown now of those of `dids` that are cooling; returns how many were."""
    released = 0
    for did in dids.filter(state=Did.State.COOLING).order_by("pk"):
        try:
            did_cooldown_end(did=did, now=now)
        except (NotCooling, Did.DoesNotExist):
            continue  # back by itself, or gone, since the filter read it
        released += 1
    return released


def dids_retire(*, dids: QuerySet[Did], now: datetime | None = None) -> int:
    """Take `dids` out of use for good (an operator's decision); returns how many changed."""
    return dids.exclude(state=Did.State.RETIRED).update(
        state=Did.State.RETIRED,
        cooldown_until=None,
        ramp_calls=None,
        updated_at=now or timezone.now(),
    )
