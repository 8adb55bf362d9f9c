"""Phone-number normalisation to E.164 with its possible time zones, fast enough for bulk import.

The results are exactly phonenumbers' own (parse, is_valid_number, E.164 format,
time_zones_for_number). The speed comes from the shape of the +1 (NANP) metadata: for a
ten-digit national number, every validity pattern, region prefix and time-zone prefix is
decided by the first six digits (NPA-NXX), except for a few prefixes where some pattern
looks further. Those "deep" prefixes are found once, soundly, by expanding the metadata's
regular expressions into sequences of digit classes (`_deep_nanp_prefixes`); a number whose
prefix is not deep gets the cached verdict of its first six digits, every other number takes
the library's full path. `bench/import_prospects.py` re-checks a sample against the plain
library calls.
"""

import functools
import itertools
import re._constants as sre_c
import re._parser as sre_parse
from dataclasses import dataclass

import phonenumbers
from phonenumbers import timezone as pn_timezone
from phonenumbers.tzdata import TIMEZONE_DATA

# Characters people put between digits; removed before the fast path looks at a number.
_FORMATTING = str.maketrans("", "", " ()-./\t\u00a0")
_NANP_LEADING = frozenset("23456789")
_DIGITS = frozenset("0123456789")
_NATIONAL_LEN = 10
_DECIDING_LENGTHS = (4, 5, 6)
_MAX_SEQUENCES = 200_000


@dataclass(frozen=True, slots=True)
class NormalizedNumber:
    e164: str
    time_zones: tuple[str, ...]


Verdict = tuple[str, tuple[str, ...]]  # (E.164, time zones)

_DEEP = object()  # a six-digit prefix whose numbers always take the library's full path
_UNKNOWN = object()
# Six-digit NANP prefix -> time zones of its numbers (None: not valid) or _DEEP. Shared by every
# normaliser in the process: a "+1" verdict does not depend on the default region.
_BY_PREFIX: dict[str, tuple[str, ...] | None | object] = {}
# A deciding prefix (4, 5 or 6 digits) -> the verdict the library gave one of its numbers.
_BY_DECIDING: dict[str, tuple[str, ...] | None] = {}


class PhoneNormalizer:
    """Normalises numbers written for one default region; cheap to create."""

    def __init__(self, default_region: str):
        self.region = (default_region or "US").upper()
        # Bare ten- or eleven-digit forms take the fast path only where the library reads them
        # as +1 numbers whatever their digits (the US general pattern admits every [2-9]\d{9}).
        self.bare_nanp = self.region == "US"
        self.fast = _deep_nanp_prefixes() is not None

    def normalize(self, raw: str) -> NormalizedNumber | None:
        """The number in E.164 with its time zones, or None when it is not a valid number."""
        found = self.lookup(raw)
        return None if found is None else NormalizedNumber(*found)

    def lookup(self, raw: str) -> Verdict | None:
        """normalize() as a plain (E.164, time zones) tuple: the bulk import's hot path."""
        text = raw.strip()
        if not text:
            return None
        if not self.fast:
            return _full(text, self.region)
        national = None
        if text[0] == "+":
            digits = text[1:].translate(_FORMATTING)
            if len(digits) == 11 and digits[0] == "1" and digits.isascii() and digits.isdigit():
                national = digits[1:]
        elif self.bare_nanp:
            digits = text.translate(_FORMATTING)
            if digits.isascii() and digits.isdigit():
                n = len(digits)
                if n == _NATIONAL_LEN:
                    national = digits
                elif n == 11 and digits[0] == "1":
                    national = digits[1:]
        if national is None or national[0] not in _NANP_LEADING:
            return _full(text, self.region)
        zones = _BY_PREFIX.get(national[:6], _UNKNOWN)
        if zones is _UNKNOWN:
            zones = _decide(national)
        if zones is _DEEP:
            return _full("+1" + national, self.region)
        return None if zones is None else ("+1" + national, zones)


def nanp_deciding_prefix(e164: str) -> str | None:
    """The shortest prefix of a +1 number's national digits that decides everything the
    library says of it (validity, type, region, time zones), or None when no prefix does
    (a "deep" prefix, another country, or no fast path): every number with that prefix
    gets the same answers, so they can be cached by it."""
    national = e164[2:]
    if (
        len(e164) != 12
        or not e164.startswith("+1")
        or national[0] not in _NANP_LEADING
        or not (national.isascii() and national.isdigit())
    ):
        return None
    analysis = _deep_nanp_prefixes()
    if analysis is None:
        return None
    for length, deep in analysis:
        if national[:length] not in deep:
            return national[:length]
    return None


def _decide(national: str) -> tuple[str, ...] | None | object:
    """The verdict shared by every number with this one's first six digits (or _DEEP)."""
    verdict = _DEEP
    for length, deep in _deep_nanp_prefixes():
        prefix = national[:length]
        if prefix in deep:
            continue
        try:
            verdict = _BY_DECIDING[prefix]
        except KeyError:
            found = _full("+1" + national, "US")
            verdict = _BY_DECIDING[prefix] = found[1] if found else None
        break
    # The loop looked at nothing past the sixth digit, so its answer holds for the whole prefix.
    _BY_PREFIX[national[:6]] = verdict
    return verdict


@functools.lru_cache(maxsize=4096)  # files repeat their junk ("n/a", "unknown", ...)
def _full(text: str, region: str) -> Verdict | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164, tuple(pn_timezone.time_zones_for_number(number))


def normalize_one(raw: str, *, region: str = "US") -> NormalizedNumber | None:
    return PhoneNormalizer(region).normalize(raw)


# --- The metadata analysis ----------------------------------------------------------------


def _expand(items, budget: list[int]) -> list[tuple[frozenset, ...]]:
    """A regex parse tree (digits only) as the list of digit-class sequences it matches."""
    seqs: list[tuple[frozenset, ...]] = [()]
    for op, arg in items:
        if op is sre_c.LITERAL:
            parts = [(frozenset(chr(arg)),)]
        elif op is sre_c.IN:
            parts = [(_class(arg),)]
        elif op is sre_c.BRANCH:
            parts = [s for branch in arg[1] for s in _expand(branch, budget)]
        elif op is sre_c.SUBPATTERN:
            parts = _expand(arg[-1], budget)
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
            low, high, sub = arg
            if high is sre_c.MAXREPEAT or high > _NATIONAL_LEN:
                high = _NATIONAL_LEN
            inner = _expand(sub, budget)
            parts = []
            for k in range(low, high + 1):
                parts.extend(tuple(itertools.chain(*c)) for c in itertools.product(inner, repeat=k))
        elif op is sre_c.AT:
            continue  # anchors: the callers already match whole numbers or prefixes
        else:
            raise ValueError(f"unsupported pattern element {op}")
        seqs = [s + p for s in seqs for p in parts if len(s) + len(p) <= _NATIONAL_LEN]
        budget[0] -= len(seqs)
        if budget[0] < 0:
            raise ValueError("pattern too large to expand")
    return seqs


def _class(items) -> frozenset:
    chars: set[str] = set()
    negate = False
    for op, arg in items:
        if op is sre_c.LITERAL:
            chars.add(chr(arg))
        elif op is sre_c.RANGE:
            chars.update(chr(c) for c in range(arg[0], arg[1] + 1))
        elif op is sre_c.CATEGORY and arg is sre_c.CATEGORY_DIGIT:
            chars.update(_DIGITS)
        elif op is sre_c.NEGATE:
            negate = True
        else:
            raise ValueError(f"unsupported class element {op}")
    return frozenset(_DIGITS - chars if negate else chars & _DIGITS)


def _nanp_patterns() -> list[tuple[str, bool]]:
    """Every pattern the library consults for a +1 number: (pattern, is_prefix_match)."""
    out = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1]:
        md = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if md.leading_digits:
            out.append((md.leading_digits, True))
        for desc in (
            md.general_desc,
            md.fixed_line,
            md.mobile,
            md.toll_free,
            md.premium_rate,
            md.shared_cost,
            md.personal_number,
            md.voip,
            md.pager,
            md.uan,
            md.voicemail,
        ):
            if desc is not None and desc.national_number_pattern:
                out.append((desc.national_number_pattern, False))
    return out


@functools.cache
def _deep_nanp_prefixes() -> tuple[tuple[int, frozenset[str]], ...] | None:
    """For each deciding length k, the k-digit prefixes whose verdict may depend on later digits.

    A time-zone key longer than k, or a class sequence of a whole-number pattern (length 10)
    or of a prefix pattern (any length) that constrains a digit past the k-th, makes every
    k-digit prefix it admits "deep" at k. A
    prefix admitted by no such sequence is decided, for every pattern the library consults, by
    its k digits alone. None (the analysis does not apply) disables the fast path.
    """
    tz_national = [k[1:] for k in TIMEZONE_DATA if k.startswith("1")]
    if max(map(len, tz_national)) > _DECIDING_LENGTHS[-1]:
        return None
    lengths = _DECIDING_LENGTHS
    deep: dict[int, set[str]] = {k: set() for k in lengths}
    # The time-zone table is a longest-prefix map: a longer key below a prefix makes it deep.
    for key in tz_national:
        for k in lengths:
            if len(key) > k:
                deep[k].add(key[:k])
    try:
        for pattern, is_prefix in _nanp_patterns():
            for seq in _expand(sre_parse.parse(pattern), [_MAX_SEQUENCES]):
                if not is_prefix and len(seq) != _NATIONAL_LEN:
                    continue
                for k in lengths:
                    if all(cls == _DIGITS for cls in seq[k:]):
                        continue
                    head = seq[:k] + (_DIGITS,) * max(0, k - len(seq))
                    deep[k].update("".join(p) for p in itertools.product(*map(sorted, head)))
    except ValueError:
        return None
    return tuple((k, frozenset(deep[k])) for k in lengths)
