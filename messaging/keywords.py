"""Inbound SMS keywords (carrier opt-out conventions): one word, any case, trimmed."""

OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN = frozenset({"START", "YES", "UNSTOP"})
HELP = frozenset({"HELP", "INFO"})


def classify(body: str) -> str:
    """'opt_out', 'opt_in', 'help' or 'reply' (any other text)."""
    word = (body or "").strip().upper()
    if word in OPT_OUT:
        return "opt_out"
    if word in OPT_IN:
        return "opt_in"
    if word in HELP:
        return "help"
    return "reply"
