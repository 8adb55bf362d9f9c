"""SMS text: segments as the carrier bills them, templates, blocked words."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messaging.sms_text import (
    GSM_7,
    UCS_2,
    MissingValue,
    Placeholder,
    Segments,
    blocked_word_find,
    segments_count,
    template_placeholders,
    template_render,
)

# GSM 03.38, written out by code point (0x1B, the escape, is not a character).
GSM_TABLE = [
    *(0x40, 0xA3, 0x24, 0xA5, 0xE8, 0xE9, 0xF9, 0xEC, 0xF2, 0xC7, 0x0A, 0xD8, 0xF8, 0x0D),
    *(0xC5, 0xE5, 0x394, 0x5F, 0x3A6, 0x393, 0x39B, 0x3A9, 0x3A0, 0x3A8, 0x3A3, 0x398),
    *(0x39E, 0xC6, 0xE6, 0xDF, 0xC9, 0x20, 0x21, 0x22, 0x23, 0xA4, *range(0x25, 0x40)),
    *(0xA1, *range(0x41, 0x5B), 0xC4, 0xD6, 0xD1, 0xDC, 0xA7),
    *(0xBF, *range(0x61, 0x7B), 0xE4, 0xF6, 0xF1, 0xFC, 0xE0),
]
GSM_EXTENSION_TABLE = [0x0C, 0x5E, 0x7B, 0x7D, 0x5C, 0x5B, 0x7E, 0x5D, 0x7C, 0x20AC]
NON_GSM = "ł"  # U+0142, one UTF-16 unit
EMOJI = "😀"  # U+1F600, two UTF-16 units


def test_the_tables_have_their_sizes():
    assert len(set(GSM_TABLE)) == 127
    assert not set(GSM_TABLE) & set(GSM_EXTENSION_TABLE)


@pytest.mark.parametrize("code", GSM_TABLE)
def test_each_basic_character_is_one_septet(code):
    assert segments_count(chr(code) * 3) == Segments(GSM_7, 1, 3)


@pytest.mark.parametrize("code", GSM_EXTENSION_TABLE)
def test_each_extension_character_is_two_septets(code):
    assert segments_count("a" + chr(code)) == Segments(GSM_7, 1, 3)


def test_every_other_bmp_character_makes_the_body_ucs2():
    gsm = set(GSM_TABLE) | set(GSM_EXTENSION_TABLE)
    for code in range(0x10000):
        if code in gsm or 0xD800 <= code <= 0xDFFF:
            continue
        assert segments_count("a" + chr(code)).encoding == UCS_2, hex(code)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("", Segments(GSM_7, 1, 0)),
        ("a" * 160, Segments(GSM_7, 1, 160)),
        ("a" * 161, Segments(GSM_7, 2, 161)),
        ("a" * 306, Segments(GSM_7, 2, 306)),
        ("a" * 307, Segments(GSM_7, 3, 307)),
        ("a" * 153 * 10, Segments(GSM_7, 10, 1530)),
        ("€" * 80, Segments(GSM_7, 1, 160)),
        ("a" * 159 + "€", Segments(GSM_7, 2, 161)),
        # 76 pairs fill 152 septets; the 77th would be split: it opens the next segment.
        ("€" * 153, Segments(GSM_7, 3, 306)),
        ("a" * 152 + "€" + "a" * 151, Segments(GSM_7, 2, 305)),
        ("a" * 152 + "€" + "a" * 152, Segments(GSM_7, 3, 306)),
        ("Line one\r\nline two", Segments(GSM_7, 1, 18)),
        (NON_GSM, Segments(UCS_2, 1, 1)),
        (NON_GSM * 70, Segments(UCS_2, 1, 70)),
        (NON_GSM * 71, Segments(UCS_2, 2, 71)),
        (NON_GSM * 134, Segments(UCS_2, 2, 134)),
        (NON_GSM * 135, Segments(UCS_2, 3, 135)),
        (EMOJI, Segments(UCS_2, 1, 2)),
        (EMOJI * 35, Segments(UCS_2, 1, 70)),
        (EMOJI * 36, Segments(UCS_2, 2, 72)),
        # 66 units then an emoji that would be split: it opens the next segment.
        (NON_GSM * 66 + EMOJI + NON_GSM * 65, Segments(UCS_2, 2, 133)),
        (NON_GSM * 66 + EMOJI + NON_GSM * 66, Segments(UCS_2, 3, 134)),
        # In UCS-2 an extension character is one unit like any other.
        ("€" * 70 + NON_GSM, Segments(UCS_2, 2, 71)),
        ("a" * 69 + EMOJI, Segments(UCS_2, 2, 71)),
        ("Hi Ana 👋 see you", Segments(UCS_2, 1, 17)),
        ("tab\there", Segments(UCS_2, 1, 8)),
        ("don’t", Segments(UCS_2, 1, 5)),  # a curly apostrophe
        ("nbsp\u00a0here", Segments(UCS_2, 1, 9)),
        ("cafe\u0301", Segments(UCS_2, 1, 5)),  # a combining accent is its own unit
    ],
)
def test_segments_count(body, expected):
    assert segments_count(body) == expected


@given(st.text())
def test_segments_hold_the_units_and_no_more_segments_than_needed(body):
    result = segments_count(body)
    single, size = (160, 153) if result.encoding == GSM_7 else (70, 67)
    if result.segments == 1:
        assert result.units <= single
    else:
        # Each segment is full but for at most one unit (a pair that did not fit).
        assert result.units > single
        assert (size - 1) * (result.segments - 1) < result.units <= size * result.segments


@given(st.text(), st.text(min_size=1))
def test_a_longer_body_never_costs_fewer_segments(body, more):
    assert segments_count(body + more).segments >= segments_count(body).segments


@given(st.text(alphabet=[chr(code) for code in GSM_TABLE + GSM_EXTENSION_TABLE]))
def test_gsm_text_stays_gsm(body):
    extension = sum(char in {chr(code) for code in GSM_EXTENSION_TABLE} for char in body)
    assert segments_count(body).encoding == GSM_7
    assert segments_count(body).units == len(body) + extension


# Templates ---------------------------------------------------------------------------------

VALUES = {"first_name": "Ana", "last_name": "Lopez", "city": "Porto", "blank": "  ", "n": "0"}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("", ""),
        ("No placeholders.", "No placeholders."),
        ("Hi {first_name}!", "Hi Ana!"),
        ("{first_name} {last_name}", "Ana Lopez"),
        ("{first_name}{last_name}", "AnaLopez"),
        ("{first_name} and {first_name}", "Ana and Ana"),
        ("Hi {nickname|there}", "Hi there"),
        ("Hi {first_name|there}", "Hi Ana"),
        ("Hi {nickname|}!", "Hi !"),
        ("Hi {nickname|my dear friend}", "Hi my dear friend"),
        ("{nickname|a|b}", "a|b"),
        ("{blank|none}", "none"),  # a blank value takes the default
        ("{n}", "0"),  # "0" is a value, not a blank
        ("{_private9}", "x"),
        ("{{first_name}}", "{first_name}"),
        ("{{{first_name}}}", "{Ana}"),
        ("a {{ b }} c", "a { b } c"),
        ('{"a": 1}', '{"a": 1}'),
        ('{"name": "{first_name}"}', '{"name": "Ana"}'),
        ("{first name}", "{first name}"),
        ("{ first_name }", "{ first_name }"),
        ("{9lives}", "{9lives}"),
        ("{}", "{}"),
        ("{", "{"),
        ("}", "}"),
        ("{first_name", "{first_name"),
        ("first_name}", "first_name}"),
        ("{first-name}", "{first-name}"),
        ("{nickname|{x}}", "{nickname|x}"),  # a brace ends the default: {x} alone is filled
        ("😀 {city} €", "😀 Porto €"),
        ("line\n{city}\n", "line\nPorto\n"),
    ],
)
def test_template_render(template, expected):
    assert template_render(template, {**VALUES, "_private9": "x", "x": "x"}) == expected


def test_values_are_inserted_as_they_are_not_parsed_again():
    assert template_render("{a}", {"a": "{b} {{ }}"}) == "{b} {{ }}"


@pytest.mark.parametrize("values", [{}, {"nickname": ""}, {"nickname": " \t"}, {"nickname": None}])
def test_a_missing_or_blank_value_without_default_raises(values):
    with pytest.raises(MissingValue) as raised:
        template_render("Hi {nickname}", values)
    assert raised.value.name == "nickname"
    assert isinstance(raised.value, ValueError)
    assert "{nickname}" in str(raised.value)


def test_the_first_missing_placeholder_is_the_one_raised():
    with pytest.raises(MissingValue) as raised:
        template_render("{first_name} {b} {c}", VALUES)
    assert raised.value.name == "b"


def test_a_number_value_is_text():
    assert template_render("{age} years", {"age": 42}) == "42 years"


def test_template_placeholders_in_order_each_once():
    template = "{b} {a|x} {{c}} {b} {a|x} {a|} {a} {not valid} {d|two words}"
    assert template_placeholders(template) == [
        Placeholder("b", None),
        Placeholder("a", "x"),
        Placeholder("a", ""),
        Placeholder("a", None),
        Placeholder("d", "two words"),
    ]
    assert template_placeholders("{{x}} {} {1}") == []


def template_missing(template: str, values: dict) -> list[str]:
    """The names whose placeholders template_render must refuse with `values` (no default, and
    a missing, None or blank value), each once, in order: the oracle of the tests below."""
    return list(
        dict.fromkeys(
            p.name
            for p in template_placeholders(template)
            if p.default is None
            and (values.get(p.name) is None or not str(values[p.name]).strip())
        )
    )


@pytest.mark.parametrize(
    ("template", "values", "missing"),
    [
        ("Hi", {}, []),
        ("{first_name}", VALUES, []),
        ("{a} {b} {a}", {}, ["a", "b"]),
        ("{a|x} {b|}", {}, []),
        ("{a|x} {a}", {}, ["a"]),  # the bare one still fails
        ("{blank} {last_name}", VALUES, ["blank"]),
        ("{{a}} {b}", {}, ["b"]),
    ],
)
def test_template_missing(template, values, missing):
    assert template_missing(template, values) == missing


@given(st.text(), st.dictionaries(st.sampled_from(["a", "b", "c"]), st.text()))
def test_render_fails_exactly_when_something_is_missing(template, values):
    missing = template_missing(template, values)
    if missing:
        with pytest.raises(MissingValue) as raised:
            template_render(template, values)
        assert raised.value.name == missing[0]
    else:
        assert isinstance(template_render(template, values), str)


@given(st.text(alphabet=st.characters(blacklist_characters="{}")))
def test_text_without_braces_renders_as_itself(text):
    assert template_render(text, {}) == text
    assert template_render("{{" + text + "}}", {}) == "{" + text + "}"


# Blocked words -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "words", "found"),
    [
        ("Totally FREE offer", ["free"], "free"),
        ("Totally free offer", ["FREE"], "FREE"),  # as the organization wrote it
        ("freedom for all", ["free"], None),
        ("carefree days", ["free"], None),
        ("free_trial", ["free"], None),
        ("free2play", ["free"], None),
        ("free!", ["free"], "free"),
        ("(free)", ["free"], "free"),
        ("it's free.", ["free"], "free"),
        ("Free\nmoney", ["free money"], "free money"),
        ("free   money", ["free money"], "free money"),
        ("free moneys", ["free money"], None),
        ("money for free", ["free", "money"], "money"),  # the first in the body
        ("free money", ["free", "free money"], "free"),  # same place: the first listed
        ("free money", ["free money", "free"], "free money"),
        ("learn c++ today", ["c++"], "c++"),
        ("win $$$ now", ["$$$"], "$$$"),
        ("abc", ["a.c"], None),  # a word is text, not a pattern
        ("see a.c now", ["a.c"], "a.c"),
        ("CAFÉ", ["café"], "café"),
        ("nothing here", ["free"], None),
        ("free", [], None),
        ("free", ["", "  "], None),  # blank words never match
        ("", ["free"], None),
        ("100% (guaranteed)", ["guaranteed", "100%"], "100%"),
    ],
)
def test_blocked_word_find(body, words, found):
    assert blocked_word_find(body, words) == found


def test_blocked_words_take_a_list_or_a_tuple():
    assert blocked_word_find("Cash now", ("cash",)) == "cash"
    assert blocked_word_find("Cash now", ["cash"]) == "cash"
