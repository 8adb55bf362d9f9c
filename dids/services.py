"""Writes for caller IDs."""

import phonenumbers


def did_number_fields(e164: str) -> dict:
    """The fields derived from a caller ID's number: E.164, area code (NANP) and region."""
    parsed = phonenumbers.parse(e164)
    national = str(parsed.national_number)
    return {
        "e164": e164,
        "area_code": national[:3] if parsed.country_code == 1 else "",
        "region": phonenumbers.region_code_for_number(parsed) or "",
    }
