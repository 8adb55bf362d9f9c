"""How long a call takes to play the TwiML it is given (simulated seconds).

The simulator executes no TwiML; it only needs to know when the call ends. `<Say>` speaks at
about 150 words a minute, `<Pause>` waits its `length` (default 1), `<Play>` counts a fixed
length (no audio is fetched), `<Hangup/>` and `<Reject/>` end the document; other verbs take
no time. A document that does not parse is Twilio's error 12100.
"""

import xml.etree.ElementTree as ET

WORDS_PER_SECOND = 2.5
PLAY_SECONDS = 10.0
URL_SECONDS = 10.0  # a redirect to a `Url`, which the simulator never fetches
DOCUMENT_PARSE_FAILURE = (12100, "Document parse failure")


def play_seconds(twiml: str) -> float:
    """Simulated seconds until the document has played; ValueError if it is not TwiML."""
    try:
        root = ET.fromstring(twiml)
    except ET.ParseError as exc:
        raise ValueError(f"not XML: {exc}") from None
    if root.tag != "Response":
        raise ValueError(f"the root element is <{root.tag}>, not <Response>")
    seconds = 0.0
    for verb in root:
        if verb.tag in ("Hangup", "Reject"):
            break
        if verb.tag == "Say":
            seconds += max(1.0, len("".join(verb.itertext()).split()) / WORDS_PER_SECOND)
        elif verb.tag == "Play":
            seconds += PLAY_SECONDS
        elif verb.tag == "Pause":
            seconds += _length(verb.get("length", "1"))
    return seconds


def _length(raw: str) -> float:
    try:
        return max(0.0, float(raw))
    except ValueError:
        return 1.0
