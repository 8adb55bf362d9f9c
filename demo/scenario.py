"""What the demo's simulated carrier and the people behind the numbers do.

Simulated time runs 50 times faster than real time, so a two-minute conversation lasts 2.4 s
and 2,000 prospects finish in a few minutes, while every call still rings, is answered (or not)
and reports each step through signed callbacks. The outcome mix is a plausible list of
customers: more than half reach a person, a fifth an answering machine, the rest ring out, are
busy or fail. It keeps the caller IDs healthy (dids.health scores them about 0.86): a colder
list (46 % people, 24 % machines, shorter talks) scored them near 0.7, and over the campaign's
100 calls per caller ID every one of them went into cooldown and the campaign paused with no
caller ID left.

Texts: each long code sends 25 segments a second (the demo's caller IDs are set to the same, so
the platform paces them as the carrier does); 93 % are delivered, numbers ending in 00 are
landlines the carrier refuses, and about one recipient in eight of a text with a link clicks it.
"""

SCENARIO = {
    "seed": 2026,
    "time_scale": 0.02,  # real seconds per simulated second
    # The contract's 1 call per second per account would be the bottleneck; the demo shows the
    # platform's own pacing (the campaign's calls_per_second) and limits instead.
    "cps": 200,
    "call_outcomes": {
        "human": 58,
        "machine": 22,
        "no_answer": 9,
        "busy": 6,
        "failed": 3,
        "invalid_number": 2,
    },
    # Under 10 s a person is a human_hangup. A machine records for up to two minutes after
    # its greeting, which is when the campaign's voicemail is played to it.
    "call_durations": {"human": [6, 180], "machine": [60, 120]},
    "ring_seconds": [3, 25],
    "amd_detection_ms": [3000, 9000],  # the greeting, until the beep
    "callback_delay_ms": [5, 60],
    "mps": {"long_code": 25},
    "sms_delivery_rate": 0.93,
    "landlines": ["00"],
}
# Of the delivered texts with a short link, the share whose recipient opens it (by the link's
# id, so the same ones in every run of the same data).
CLICK_PERCENT = 12
