"""What the demo's simulated carrier and the people behind the numbers do.

Simulated time runs 50 times faster than real time, so a two-minute conversation lasts 2.4 s
and 2,000 prospects finish in a few minutes, while every call still rings, is answered (or not)
and reports each step through signed callbacks. The outcome mix is a plausible cold list:
about half reach a person, a quarter an answering machine, the rest ring out, are busy or fail.
"""

SCENARIO = {
    "seed": 2026,
    "time_scale": 0.02,  # real seconds per simulated second
    # The contract's 1 call per second per account would be the bottleneck; the demo shows the
    # platform's own pacing (the campaign's calls_per_second) and limits instead.
    "cps": 200,
    "call_outcomes": {
        "human": 46,
        "machine": 24,
        "no_answer": 14,
        "busy": 9,
        "failed": 4,
        "invalid_number": 3,
    },
    # Under 10 s a person is a human_hangup. A machine records for up to two minutes after
    # its greeting, which is when the campaign's voicemail is played to it.
    "call_durations": {"human": [4, 150], "machine": [60, 120]},
    "ring_seconds": [3, 25],
    "amd_detection_ms": [3000, 9000],  # the greeting, until the beep
    "callback_delay_ms": [5, 60],
}
