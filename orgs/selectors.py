"""Reads for tenants and API keys."""

import hmac

from orgs.models import ApiKey
from orgs.services import hash_api_key


def api_key_get_by_raw(*, raw_key: str) -> ApiKey | None:
    """The usable key matching a raw secret `ob_<prefix>_<secret>`, or None."""
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] != "ob" or not parts[1]:
        return None
    key = ApiKey.objects.usable().select_related("organization").filter(prefix=parts[1]).first()
    if key is None or not hmac.compare_digest(key.hashed_key, hash_api_key(raw_key)):
        return None
    return key
