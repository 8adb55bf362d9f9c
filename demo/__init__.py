"""`make demo`: the whole platform on one machine, running a live voice campaign.

`scripts/demo.py` is the entry point; this package holds its parts: the child processes
(`processes`, `stack`), the carrier scenario (`scenario`) and the live display (`live`).
"""
