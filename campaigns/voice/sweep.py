"""The dialer's periodic sweep: what a lost callback, task or verdict left behind."""

from campaigns.voice.late_verdicts import attempts_correct_late_verdicts
from campaigns.voice.outcomes import attempts_reconcile, attempts_settle, attempts_time_out
from campaigns.voice.voicemail import voicemail_drops


def calls_sweep() -> dict:
    """Time out calls that never finished, reconcile attempts left without a sid, play drops
    a lost task left unplayed, settle (also calls whose verdict was waited for in vain),
    correct outcomes a late machine verdict contradicts."""
    return {
        "timed_out": attempts_time_out(),
        "reconciled": attempts_reconcile(),
        "dropped": voicemail_drops(),
        "settled": attempts_settle(),
        "corrected": attempts_correct_late_verdicts(),
    }
