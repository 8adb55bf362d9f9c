"""Shape checks for a campaign's settings (calling windows, caller-ID filter, voicemail drop)."""

import re
from xml.etree import ElementTree

from django.core.exceptions import ValidationError

from messaging.twiml import MAX_INLINE_TWIML, message_twiml

# Outcomes a campaign may retry; voicemail is only retried when no drop was played.
RETRYABLE_OUTCOMES = ("no_answer", "busy", "timeout", "voicemail", "failed", "human_hangup")
DEFAULT_RETRY_OUTCOMES = ("no_answer", "busy", "timeout", "voicemail")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


def validate_calling_windows(value) -> None:
    if not isinstance(value, list):
        raise ValidationError(
            'Expected a list of {"days": [...], "start": "HH:MM", "end": "HH:MM"}.'
        )
    for i, window in enumerate(value):
        where = f"window {i}"
        if not isinstance(window, dict) or set(window) - {"days", "start", "end"}:
            raise ValidationError(f'{where}: expected keys "days", "start", "end".')
        days = window.get("days", list(DAYS))
        if not isinstance(days, list) or not days or any(d not in DAYS for d in days):
            raise ValidationError(f"{where}: days must be a non-empty list of {', '.join(DAYS)}.")
        start, end = window.get("start"), window.get("end")
        for name, t in (("start", start), ("end", end)):
            if not isinstance(t, str) or not _HHMM.match(t):
                raise ValidationError(f"{where}: {name} must be HH:MM (24-hour).")
        if start >= end:
            raise ValidationError(f"{where}: start must be before end.")


def validate_caller_id_filter(value) -> None:
    if not isinstance(value, dict) or set(value) - {"area_codes", "regions"}:
        raise ValidationError('Expected {"area_codes": ["415", ...], "regions": ["US", ...]}.')
    for key in ("area_codes", "regions"):
        if not isinstance(value.get(key, []), list):
            raise ValidationError(f"{key} must be a list.")
    for code in value.get("area_codes", []):
        if not (isinstance(code, str) and code.isdigit() and 2 <= len(code) <= 4):
            raise ValidationError(f"area code {code!r} must be 2-4 digits.")
    for region in value.get("regions", []):
        if not (isinstance(region, str) and len(region) == 2 and region.isalpha()):
            raise ValidationError(f"region {region!r} must be a two-letter region code.")


def default_retry_outcomes() -> list[str]:
    return list(DEFAULT_RETRY_OUTCOMES)


def validate_retry_outcomes(value) -> None:
    if not isinstance(value, list) or any(v not in RETRYABLE_OUTCOMES for v in value):
        raise ValidationError(f"Expected a list drawn from: {', '.join(RETRYABLE_OUTCOMES)}.")


def validate_twiml(value) -> None:
    """A campaign's TwiML for people who answer: one well-formed <Response>, inline-sized."""
    if len(value) > MAX_INLINE_TWIML:
        raise ValidationError(
            f"The TwiML is {len(value)} characters; the carrier takes at most {MAX_INLINE_TWIML}."
        )
    try:
        root = ElementTree.fromstring(value)
    except ElementTree.ParseError as error:
        raise ValidationError(f"Not well-formed XML: {error}.") from None
    if root.tag != "Response":
        raise ValidationError(f"The root element must be <Response>, not <{root.tag}>.")


def validate_voicemail_drop(value) -> None:
    """The drop's TwiML must fit the carrier's inline limit once built and escaped."""
    size = len(message_twiml(value)) if value else 0
    if size > MAX_INLINE_TWIML:
        raise ValidationError(
            f"The voicemail drop makes {size} characters of TwiML; the carrier takes at most "
            f"{MAX_INLINE_TWIML}. Shorten it, or give the URL of a recording."
        )


# --- SMS -------------------------------------------------------------------------------------

VARIANT_BODY_MAX = 1600  # the carrier's limit for one message, in characters
VARIANT_NAME_MAX = 50


def validate_variants(variants: list[dict]) -> None:
    """An SMS campaign's texts: `name`, `body`, `percentage` each. Names are unique, bodies
    1-1600 characters, percentages 0-100 adding up to 100 (an empty list is no texts yet)."""
    names = [v["name"] for v in variants]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValidationError(f"Variant names must be unique: {', '.join(repeated)} repeated.")
    for v in variants:
        if not v["name"] or len(v["name"]) > VARIANT_NAME_MAX:
            raise ValidationError(f"A variant name has 1-{VARIANT_NAME_MAX} characters.")
        if not v["body"].strip() or len(v["body"]) > VARIANT_BODY_MAX:
            raise ValidationError(
                f"Variant {v['name']}: the body has 1-{VARIANT_BODY_MAX} characters."
            )
        if not 0 <= v["percentage"] <= 100:
            raise ValidationError(f"Variant {v['name']}: the percentage is 0-100.")
    total = sum(v["percentage"] for v in variants)
    if variants and total != 100:
        raise ValidationError(f"The variants' percentages add up to {total}, not 100.")


def sms_mode_for(*, channel: str, sms_mode: str) -> str:
    """The mode a campaign is stored with: an SMS campaign without one is a blast; a voice
    campaign has none (ValidationError on `sms_mode` when one is given)."""
    if channel == "sms":
        return sms_mode or "blast"
    if sms_mode:
        raise ValidationError({"sms_mode": ["Only SMS campaigns have a mode; leave it empty."]})
    return ""
