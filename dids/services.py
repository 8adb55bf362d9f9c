"""Writes for caller IDs and the sender pools that text from them."""

from collections.abc import Iterable
from datetime import datetime

import phonenumbers
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, QuerySet
from django.utils import timezone

from config.errors import DomainError
from dids.health import cooldowns_end
from dids.models import Did, SenderPool


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
    """An operator ends a cooling caller ID's cooldown now: it comes back on a ramp, as the
    lifecycle brings it back (dids.health.cooldowns_end); NotCooling names the state it is in
    otherwise. The release is one conditional UPDATE, so neither the lifecycle nor a health
    update can slip in between the check and the change. (The admin's action ends the
    cooldowns of its selection with the same statement.)"""
    if not cooldowns_end(Did.objects.filter(pk=did.pk), now=now):
        state = Did.objects.filter(pk=did.pk).values_list("state", flat=True).first()
        if state is None:
            raise Did.DoesNotExist(f"Caller ID {did.pk} does not exist.")
        raise NotCooling(state)
    did.refresh_from_db()
    return did


def dids_retire(*, dids: QuerySet[Did], now: datetime | None = None) -> int:
    """Take `dids` out of use for good (an operator's decision); returns how many changed."""
    return dids.exclude(state=Did.State.RETIRED).update(
        state=Did.State.RETIRED,
        cooldown_until=None,
        ramp_calls=None,
        updated_at=now or timezone.now(),
    )


# --- Sender pools ------------------------------------------------------------------------------


class SenderPoolInUse(DomainError):
    """A sender pool that campaigns still text from cannot be deleted (HTTP 409)."""

    def __init__(self, campaign_ids: list[int]):
        self.campaign_ids = campaign_ids
        super().__init__(
            f"The sender pool is used by {len(campaign_ids)} campaign(s) "
            f"({', '.join(map(str, campaign_ids))}); give them another pool first.",
            code="sender_pool_in_use",
            extra={"campaigns": campaign_ids},
        )


def sender_pool_dids_invalid(*, org_id: int, did_ids: Iterable[int]) -> list[int]:
    """Those of `did_ids` that are not SMS-enabled caller IDs of the organization, ascending."""
    wanted = set(did_ids)
    valid = Did.objects.filter(organization_id=org_id, pk__in=wanted, sms_enabled=True)
    return sorted(wanted - set(valid.values_list("pk", flat=True)))


def _name_taken(name: str) -> list[str]:
    return [f"This organization already has a sender pool named {name!r}."]


def _sender_pool_check(*, pool: SenderPool, did_ids: list[int] | None) -> None:
    errors: dict[str, list[str]] = {}
    clash = SenderPool.objects.filter(organization_id=pool.organization_id, name=pool.name)
    if clash.exclude(pk=pool.pk).exists():
        errors["name"] = _name_taken(pool.name)
    if did_ids:
        invalid = sender_pool_dids_invalid(org_id=pool.organization_id, did_ids=did_ids)
        if invalid:
            errors["dids"] = [
                "Not SMS-enabled caller IDs of this organization: "
                + ", ".join(map(str, invalid))
                + "."
            ]
    if errors:
        raise ValidationError(errors)


def sender_pool_save(*, pool: SenderPool, did_ids: list[int] | None = None, **fields) -> SenderPool:
    """Create or change a pool: its fields, and its caller IDs when `did_ids` is given (the
    organization's SMS-enabled ones only; others are named in the ValidationError)."""
    for name, value in fields.items():
        setattr(pool, name, value)
    _sender_pool_check(pool=pool, did_ids=did_ids)
    try:
        with transaction.atomic():
            pool.save()
            if did_ids is not None:
                pool.dids.set(did_ids)
    except IntegrityError as exc:
        if "senderpool_org_name" not in str(exc):
            raise
        raise ValidationError({"name": _name_taken(pool.name)}) from exc  # created meanwhile
    return pool


def sender_pool_delete(*, pool: SenderPool) -> None:
    """Delete a pool, or SenderPoolInUse naming the campaigns that still text from it."""
    try:
        pool.delete()
    except ProtectedError as exc:
        raise SenderPoolInUse(sorted(c.pk for c in exc.protected_objects)) from exc
