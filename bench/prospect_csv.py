"""A seeded, realistic prospects CSV for the import benchmark, and its suppression list.

US numbers come from NPA-NXX prefixes that phonenumbers calls valid US numbers, written in the
mixed formats people type. About 2 % of the rows carry a number that is not valid (unassigned
area code or exchange, too short, too long, words, empty), about 5 % repeat an earlier row with
its number written differently, about 10 % have a second number. A 10,000-number suppression
list takes part of its numbers from the file and the rest from elsewhere.
"""

import csv
import json
import random
from array import array
from pathlib import Path

import phonenumbers

HEADER = ("phone", "phone2", "first_name", "last_name", "email", "timezone", "company")
INVALID_SHARE = 0.02
DUPLICATE_SHARE = 0.05
PHONE2_SHARE = 0.10
EXPLICIT_TZ_SHARE = 0.08
SUPPRESSIONS = 10_000
SUPPRESSED_FROM_FILE = 6_000

FIRST = (
    "Ann Bo Carla Dev Eli Fatima Gus Hana Ivan José Kim Liam Mei Noor Olga Pat Quinn Rosa "
    "Sam Tariq Uma Vic Wen Xavier Yara Zoë Amir Bea Chen Dara"
).split()
LAST = (
    "Lee Smith García Nguyen Okafor Müller Rossi Kowalski Johnson O'Brien Patel Kim Silva "
    "Cohen Dubois Ivanova Brown Tanaka Hughes Lopez Ali Novak Schmidt Andersson"
).split()
COMPANIES = (
    "",
    "",
    "",
    "Initech",
    "Globex",
    "Acme, Inc.",
    'The "Best" Bakery',
    "Umbrella Corp",
    "Stark Industries",
    "Wayne Enterprises, LLC",
    "Hooli",
    "Vandelay Industries",
    "Soylent",
    "Tyrell Corp.",
)
ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
)
_GEOGRAPHIC = (
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
)
GARBAGE = ("n/a", "unknown", "555-CALL-NOW", "tbd", "", "+1", "0000000000", "call office")


def _fmt(national: str, style: int) -> str:
    a, b, c = national[:3], national[3:6], national[6:]
    if style == 0:
        return f"({a}) {b}-{c}"
    if style == 1:
        return f"{a}-{b}-{c}"
    if style == 2:
        return f"+1 {a} {b} {c}"
    if style == 3:
        return national
    if style == 4:
        return f"1-{a}-{b}-{c}"
    if style == 5:
        return f"{a}.{b}.{c}"
    return "+1" + national


def _prefixes(rng: random.Random) -> tuple[list[int], list[int]]:
    """Six-digit NPA-NXX prefixes phonenumbers calls valid US numbers, and some it does not."""
    good, bad = [], []
    pairs = rng.sample(range(200 * 1000 + 200, 1000 * 1000), 30_000)
    for pair in pairs:
        npa, nxx = divmod(pair, 1000)
        if nxx < 200:
            continue
        prefix = npa * 1000 + nxx
        number = phonenumbers.PhoneNumber(country_code=1, national_number=prefix * 10_000 + 4321)
        if not phonenumbers.is_valid_number(number):
            bad.append(prefix)
        elif (
            phonenumbers.region_code_for_number(number) == "US"
            and phonenumbers.number_type(number) in _GEOGRAPHIC
        ):
            good.append(prefix)
    return good, bad


def _invalid(rng: random.Random, bad_prefixes: list[int]) -> str:
    kind = rng.randrange(6)
    national = f"{rng.choice(bad_prefixes)}{rng.randrange(10_000):04d}"
    if kind <= 1:
        return _fmt(national, rng.randrange(7))  # unassigned area code or exchange
    if kind == 2:
        return _fmt(national, 1)[:-1]  # a digit short
    if kind == 3:
        return f"({rng.randrange(100, 200)}) {national[3:6]}-{national[6:]}"  # 1xx area code
    if kind == 4:
        return national + str(rng.randrange(10))  # a digit too many
    return rng.choice(GARBAGE)


def _person(k: int) -> tuple[str, str, str, str, str]:
    """first, last, email, timezone and company of the k-th original row (deterministic)."""
    x = (k * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF
    x ^= x >> 29
    first, last = FIRST[x % len(FIRST)], LAST[(x >> 7) % len(LAST)]
    local = f"{first}.{last}".lower().replace("'", "")
    email = f"{local}.{k}@example.com"
    tz = ZONES[(x >> 14) % len(ZONES)] if (x >> 40) % 1000 < EXPLICIT_TZ_SHARE * 1000 else ""
    company = COMPANIES[(x >> 24) % len(COMPANIES)]
    return first, last, email, tz, company


def generate(path: Path, rows: int, seed: int) -> dict:
    """Write the CSV at path and the suppression list beside it; returns what was generated."""
    rng = random.Random(seed)
    good, bad = _prefixes(rng)
    used: set[int] = set()

    def fresh() -> int:
        while True:
            n = rng.choice(good) * 10_000 + rng.randrange(10_000)
            if n not in used:
                used.add(n)
                return n

    # Originals that later rows may repeat: their row number and numbers (0: no second number).
    orig_k, orig_phone, orig_phone2 = array("q"), array("q"), array("q")
    counts = {"rows": rows, "invalid": 0, "duplicates": 0, "with_phone2": 0}
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        for k in range(rows):
            roll = rng.random()
            if roll < DUPLICATE_SHARE and orig_k:
                i = rng.randrange(len(orig_k))
                first, last, email, tz, company = _person(orig_k[i])
                phone = _fmt(str(orig_phone[i]), rng.randrange(7))
                phone2 = _fmt(str(orig_phone2[i]), rng.randrange(7)) if orig_phone2[i] else ""
                counts["duplicates"] += 1
            elif roll < DUPLICATE_SHARE + INVALID_SHARE:
                first, last, email, tz, company = _person(k)
                if rng.random() < 0.85:
                    phone, phone2 = _invalid(rng, bad), ""
                else:
                    phone, phone2 = _fmt(str(fresh()), rng.randrange(7)), _invalid(rng, bad)
                counts["invalid"] += 1
            else:
                first, last, email, tz, company = _person(k)
                national = fresh()
                national2 = fresh() if rng.random() < PHONE2_SHARE else 0
                counts["with_phone2"] += bool(national2)
                orig_k.append(k)
                orig_phone.append(national)
                orig_phone2.append(national2)
                phone = _fmt(str(national), rng.randrange(7))
                phone2 = _fmt(str(national2), rng.randrange(7)) if national2 else ""
            writer.writerow((phone, phone2, first, last, email, tz, company))

    in_file = rng.sample(range(len(orig_phone)), min(SUPPRESSED_FROM_FILE, len(orig_phone)))
    suppressed = [orig_phone[i] for i in in_file]
    suppressed += [fresh() for _ in range(SUPPRESSIONS - len(suppressed))]
    counts["suppressions"] = len(suppressed)
    counts["suppressions_in_file"] = len(in_file)
    suppression_path(path).write_text("".join(f"+1{n}\n" for n in suppressed))
    meta_path(path).write_text(json.dumps({"seed": seed, **counts}))
    return counts


def suppression_path(path: Path) -> Path:
    return path.with_suffix(".suppressions.txt")


def meta_path(path: Path) -> Path:
    return path.with_suffix(".meta.json")


def load_meta(path: Path, rows: int, seed: int) -> dict | None:
    """What a previous run generated at path, when it matches rows and seed."""
    try:
        meta = json.loads(meta_path(path).read_text())
    except (OSError, ValueError):
        return None
    if meta.get("rows") != rows or meta.get("seed") != seed or not path.exists():
        return None
    return meta
