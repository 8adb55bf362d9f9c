"""Drawing outcomes from a scenario: what happens to a call or a message, fixed at create time.

All randomness comes from one `random.Random` seeded by the scenario, and every draw happens
while the create request is handled, so a seeded scenario fed the same creates in the same
order plays out the same way.
"""

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import accumulate
from typing import Generic, TypeVar

from carrier_simulator.scenario import CALL_OUTCOMES, Range, Scenario

SETUP_SECONDS = 1.0  # from dequeue to the first ring (simulated seconds)
BUSY_RING_CAP_SECONDS = 5.0  # a busy line answers quickly
FAILED_SIP_CODES = (404, 503)
SIP_REJECTED = 608
SIP_NOT_FOUND = 404  # an invalid or unroutable number (error 13224 in the call log)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CallPlan:
    """How a call will go. Times are simulated seconds."""

    outcome: str  # human | machine | busy | no_answer | failed | invalid_number | rejected
    ring_s: float  # ringing before the answer, busy or no-answer
    talk_s: float  # answered duration (0 unless answered)
    sip_code: int  # SipResponseCode of the terminal callback
    verdict: str | None  # AMD AnsweredBy when detection is on
    amd_s: float  # AMD detection time (simulated seconds), at most talk_s


@dataclass(frozen=True, slots=True)
class MessagePlan:
    outcome: str  # delivered | undelivered | failed
    error_code: int | None
    sent_s: float
    delivered_s: float


@dataclass(frozen=True, slots=True)
class CallAsk:
    """The create parameters a call's outcome depends on."""

    to: str
    from_: str
    timeout_s: int
    time_limit_s: int
    amd_mode: str | None  # Enable | DetectMessageEnd | None
    amd_timeout_s: int


class SuffixTable(Generic[T]):
    """Longest-suffix lookup over number suffixes (a full number is its own suffix)."""

    def __init__(self, table: Mapping[str, T]):
        self._table = dict(table)
        self._lengths = sorted({len(k) for k in table}, reverse=True)

    def get(self, number: str) -> T | None:
        for length in self._lengths:
            hit = self._table.get(number[-length:])
            if hit is not None:
                return hit
        return None


class Drawer:
    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.rng = random.Random(scenario.seed)
        self._overrides: SuffixTable[tuple[str, ...]] = SuffixTable(scenario.to_suffix)
        self._landlines: SuffixTable[bool] = SuffixTable(dict.fromkeys(scenario.landlines, True))
        self._spam: SuffixTable[float] = SuffixTable(scenario.spam_from)
        self._codes = [int(c) for c in scenario.sms_error_codes]
        self._code_cum_weights = list(accumulate(scenario.sms_error_codes.values()))
        self._outcomes = list(scenario.call_outcomes)
        self._outcome_cum_weights = list(accumulate(scenario.call_outcomes.values()))
        self._machine_ends = list(scenario.amd_machine_end)
        self._machine_end_cum_weights = list(accumulate(scenario.amd_machine_end.values()))

    def is_landline(self, to: str) -> bool:
        return self._landlines.get(to) is not None

    def uniform(self, bounds: Range) -> float:
        low, high = bounds
        return low if low == high else self.rng.uniform(low, high)

    def _override(self, to: str, names: Iterable[str]) -> str | None:
        outcomes = self._overrides.get(to)
        if not outcomes:
            return None
        return next((o for o in outcomes if o in names), None)

    # --- calls ---------------------------------------------------------------------------

    def call(self, ask: CallAsk) -> CallPlan:
        outcome = self._override(ask.to, CALL_OUTCOMES)
        outcome = outcome or self._call_outcome(ask.from_)
        if outcome in ("human", "machine"):
            return self._answered(ask, outcome)
        if outcome == "busy":
            ring = min(self.uniform(self.scenario.ring_seconds), BUSY_RING_CAP_SECONDS)
            return CallPlan("busy", ring, 0.0, 486, None, 0.0)
        if outcome == "no_answer":
            return CallPlan("no_answer", float(ask.timeout_s), 0.0, 487, None, 0.0)
        if outcome == "rejected":
            return CallPlan("rejected", 0.0, 0.0, SIP_REJECTED, None, 0.0)
        if outcome == "invalid_number":
            return CallPlan("invalid_number", 0.0, 0.0, SIP_NOT_FOUND, None, 0.0)
        return CallPlan("failed", 0.0, 0.0, self.rng.choice(FAILED_SIP_CODES), None, 0.0)

    def _call_outcome(self, from_: str) -> str:
        penalty = self._spam.get(from_) or 0.0  # the longest matching suffix
        if not penalty:
            return self.rng.choices(self._outcomes, cum_weights=self._outcome_cum_weights)[0]
        weights = dict(self.scenario.call_outcomes)
        answered = weights.get("human", 0.0) + weights.get("machine", 0.0)
        for name in ("human", "machine"):
            weights[name] = weights.get(name, 0.0) * (1.0 - penalty)
        weights["rejected"] = answered * penalty
        names = list(weights)
        return self.rng.choices(names, weights=[weights[n] for n in names])[0]

    def _answered(self, ask: CallAsk, outcome: str) -> CallPlan:
        ring = self.uniform(self.scenario.ring_seconds)
        if ring >= ask.timeout_s:
            return CallPlan("no_answer", float(ask.timeout_s), 0.0, 487, None, 0.0)
        talk = min(self.uniform(self.scenario.call_durations[outcome]), float(ask.time_limit_s))
        verdict, amd_s = self._verdict(ask, outcome) if ask.amd_mode else (None, 0.0)
        return CallPlan(outcome, ring, talk, 200, verdict, min(amd_s, talk))

    def _verdict(self, ask: CallAsk, outcome: str) -> tuple[str, float]:
        detect_s = self.uniform(self.scenario.amd_detection_ms) / 1000.0
        if detect_s >= ask.amd_timeout_s:
            return "unknown", float(ask.amd_timeout_s)
        if self.rng.random() < self.scenario.amd_unknown_rate:
            return "unknown", detect_s
        if outcome == "human":
            return "human", detect_s
        if ask.amd_mode == "Enable":
            return "machine_start", detect_s
        ends = self.rng.choices(self._machine_ends, cum_weights=self._machine_end_cum_weights)
        return ends[0], detect_s

    # --- messages ------------------------------------------------------------------------

    def message(self, to: str) -> MessagePlan:
        forced = self._override(to, ("sms_delivered", "sms_undelivered", "sms_failed"))
        outcome = forced.removeprefix("sms_") if forced else self._message_outcome()
        code = None if outcome == "delivered" else self._error_code()
        sent = self.uniform(self.scenario.sms_sent_seconds)
        return MessagePlan(outcome, code, sent, self.uniform(self.scenario.sms_delivered_seconds))

    def _message_outcome(self) -> str:
        if self.rng.random() < self.scenario.sms_failed_rate:
            return "failed"
        return "delivered" if self.rng.random() < self.scenario.sms_delivery_rate else "undelivered"

    def _error_code(self) -> int:
        return self.rng.choices(self._codes, cum_weights=self._code_cum_weights)[0]
