"""The text of an SMS: what it costs in segments, its personalised body, its blocked words.

Pure functions, no database: a blast calls them once per message, so the parsed template and
the blocked-word pattern are built once and cached on their inputs.
"""

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

GSM_7 = "GSM-7"
UCS_2 = "UCS-2"

# GSM 03.38 default alphabet (without ESC, 0x1B), one septet each, in table order.
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# Its extension table: ESC + one septet, so two septets that a segment never splits.
GSM_EXTENSION = "\f^{}\\[~]|€"

GSM_SINGLE, GSM_CONCATENATED = 160, 153  # septets (a concatenated segment loses 7 to its UDH)
UCS_SINGLE, UCS_CONCATENATED = 70, 67  # UTF-16 code units

_NOT_GSM = re.compile("[^" + re.escape(GSM_BASIC + GSM_EXTENSION) + "]")
_GSM_EXTENSION = re.compile("[" + re.escape(GSM_EXTENSION) + "]")


@dataclass(frozen=True, slots=True)
class Segments:
    """What the carrier bills a body as: its encoding, segments and length in that encoding."""

    encoding: str  # GSM_7 or UCS_2
    segments: int
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)


def segments_count(body: str) -> Segments:
    """The encoding and segment count of `body`, as the carrier splits it.

    GSM-7 when every character is in the GSM 03.38 alphabet or its extension table (an
    extension character takes two septets); UCS-2 otherwise, counted in UTF-16 code units (an
    emoji outside the BMP takes two). A body that fits one segment (160 septets or 70 units)
    is one; a longer one is split into 153-septet or 67-unit segments, never between an
    escape and its character nor between the halves of a surrogate pair. An empty body is one
    segment: the carrier bills it as one. No characters are substituted (a curly quote or a
    non-breaking space makes the body UCS-2).
    """
    if _NOT_GSM.search(body) is None:
        units = len(body) + len(_GSM_EXTENSION.findall(body))
        if units <= GSM_SINGLE:
            return Segments(GSM_7, 1, units)
        widths = (2 if char in GSM_EXTENSION else 1 for char in body)
        return Segments(GSM_7, _segments(body, units, widths, GSM_CONCATENATED), units)
    units = len(body.encode("utf-16-le")) // 2
    if units <= UCS_SINGLE:
        return Segments(UCS_2, 1, units)
    widths = (2 if char > "\uffff" else 1 for char in body)
    return Segments(UCS_2, _segments(body, units, widths, UCS_CONCATENATED), units)


def _segments(body: str, units: int, widths: Iterable[int], size: int) -> int:
    """How many `size`-unit segments hold `body` when no two-unit character is split."""
    if units == len(body):  # one unit each: nothing to keep together
        return -(-units // size)
    segments, used = 1, 0
    for width in widths:
        if used + width > size:
            segments, used = segments + 1, 0
        used += width
    return segments


# Templates ---------------------------------------------------------------------------------
#
# `{name}` is the value of `name`; `{name|default}` falls back to `default` (which may be empty
# or hold spaces) when the value is missing or blank. `{{` and `}}` are literal braces. Any
# other brace is kept as written: `{first name}`, `{}`, `{"a": 1}` or a lone `}` are text, not
# errors, because a message may legitimately hold braces and an import must not fail on them;
# `template_placeholders` shows what will be filled in.

_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)(?:\|([^{}]*))?\}")


@dataclass(frozen=True, slots=True)
class Placeholder:
    name: str
    default: str | None  # None: the value is required


class MissingValue(ValueError):
    """A placeholder without a default has no value (missing, None or blank)."""

    def __init__(self, name: str):
        super().__init__(f"no value for {{{name}}}")
        self.name = name


@functools.lru_cache(maxsize=256)  # a blast renders its few variants 100,000 times
def _template_parse(template: str) -> tuple[str | Placeholder, ...]:
    """The template as literal strings and placeholders, adjacent literals joined."""
    parts: list[str | Placeholder] = []
    text: list[str] = []
    position = 0
    for match in _TOKEN.finditer(template):
        text.append(template[position : match.start()])
        position = match.end()
        token = match.group()
        if token in ("{{", "}}"):
            text.append(token[0])
            continue
        if literal := "".join(text):
            parts.append(literal)
        text = []
        parts.append(Placeholder(match.group(1), match.group(2)))
    if literal := "".join(text) + template[position:]:
        parts.append(literal)
    return tuple(parts)


def _value(values: Mapping[str, str], name: str) -> str | None:
    value = values.get(name)
    if value is None:
        return None
    value = str(value)  # an import attribute may be a number
    return value if value.strip() else None


def template_placeholders(template: str) -> list[Placeholder]:
    """The template's placeholders in order of first appearance, each (name, default) once."""
    parts = _template_parse(template)
    return list(dict.fromkeys(part for part in parts if isinstance(part, Placeholder)))


def template_render(template: str, values: Mapping[str, str]) -> str:
    """The template filled in from `values` (a missing, None or blank value takes the default).

    Raises MissingValue for the first placeholder that has neither a value nor a default.
    """
    out: list[str] = []
    for part in _template_parse(template):
        if isinstance(part, str):
            out.append(part)
            continue
        value = _value(values, part.name)
        if value is None:
            if part.default is None:
                raise MissingValue(part.name)
            value = part.default
        out.append(value)
    return "".join(out)


# Blocked words -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)  # one pattern per organization's list, reused per message
def _blocked_pattern(words: tuple[str, ...]) -> tuple[re.Pattern[str] | None, tuple[str, ...]]:
    """One case-insensitive pattern with a group per word, and the words those groups match."""
    kept = tuple(word for word in words if word.strip())
    if not kept:
        return None, ()
    # Whole words: not next to a letter, digit or underscore (\b fails on "c++" or "$$$").
    # The words of a phrase may be separated by any run of whitespace.
    alternatives = "|".join(
        "(" + r"\s+".join(re.escape(part) for part in word.split()) + ")" for word in kept
    )
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE), kept


def blocked_word_find(body: str, words: Sequence[str]) -> str | None:
    """The blocked word (as the organization wrote it) found first in `body`, or None.

    Case-insensitive, whole words only; a phrase matches across any whitespace. Where two
    words match at the same place, the one listed first wins. Blank words are ignored.
    """
    pattern, kept = _blocked_pattern(tuple(words))
    if pattern is None:
        return None
    match = pattern.search(body)
    return None if match is None else kept[match.lastindex - 1]
