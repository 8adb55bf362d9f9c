"""`make demo`: the whole platform on one machine, running a live voice campaign and then a
live SMS blast.

`scripts/demo.py` is the entry point; this package holds its parts: the child processes
(`stack`, started through `config.launcher`), the carrier scenario and its people
(`scenario`), the live displays (`live` for the voice campaign and what both share, `blast` for
the SMS blast).
"""
