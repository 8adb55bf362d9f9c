"""The scenario: what the simulated carrier and the people behind the numbers do.

A scenario is plain JSON (a file given to `--scenario`, or `PUT /_sim/scenario`). Every key is
optional; an absent key takes its default below, an unknown key or a bad value is refused with
a message naming it. Simulated durations are in seconds and are multiplied by `time_scale`
before they become real time; `cps`, `mps`, `api_latency_ms` and the callback timings (also
`amd_verdict_delay_ms`, which can make an async AMD verdict come after `completed`) are real.
Rates default to the contract's (§6): 1 call per second per account, and per sender 1, 3 or
100 segments per second for a long code, toll-free number or short code.
"""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

Range = tuple[float, float]

CALL_OUTCOMES = ("human", "machine", "busy", "no_answer", "failed", "invalid_number")
SMS_OUTCOMES = ("sms_delivered", "sms_undelivered", "sms_failed")
MACHINE_END_VERDICTS = ("machine_end_beep", "machine_end_silence", "machine_end_other")
SENDER_TYPES = ("long_code", "toll_free", "short_code")
DEFAULT_MPS: dict[str, float] = {"long_code": 1.0, "toll_free": 3.0, "short_code": 100.0}
URL_SCHEMES = ("http://", "https://")
DEFAULT_DURATIONS: dict[str, Range] = {"human": (20.0, 180.0), "machine": (8.0, 40.0)}


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message names the offending key."""


@dataclass(frozen=True)
class Scenario:
    seed: int | None = None
    time_scale: float = 0.001
    cps: float = 1.0
    mps: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_MPS))
    max_concurrent_requests: int = 1000
    api_latency_ms: Range = (0.0, 0.0)
    call_outcomes: Mapping[str, float] = field(
        default_factory=lambda: {
            "human": 50.0,
            "machine": 25.0,
            "busy": 10.0,
            "no_answer": 10.0,
            "failed": 5.0,
        }
    )
    call_durations: Mapping[str, Range] = field(default_factory=lambda: dict(DEFAULT_DURATIONS))
    ring_seconds: Range = (2.0, 15.0)
    amd_detection_ms: Range = (1000.0, 4000.0)
    amd_unknown_rate: float = 0.0
    amd_machine_end: Mapping[str, float] = field(
        default_factory=lambda: {
            "machine_end_beep": 70.0,
            "machine_end_silence": 20.0,
            "machine_end_other": 10.0,
        }
    )
    sms_delivery_rate: float = 0.97
    sms_failed_rate: float = 0.0
    sms_error_codes: Mapping[str, float] = field(
        default_factory=lambda: {"30003": 40.0, "30005": 30.0, "30006": 20.0, "30007": 10.0}
    )
    sms_sent_seconds: Range = (0.5, 2.0)
    sms_delivered_seconds: Range = (1.0, 8.0)
    to_suffix: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    landlines: tuple[str, ...] = ()
    spam_from: Mapping[str, float] = field(default_factory=dict)
    callback_delay_ms: Range = (0.0, 0.0)
    amd_verdict_delay_ms: Range = (0.0, 0.0)
    callback_retries: int = 0
    callback_retry_backoff_ms: float = 250.0
    out_of_order: bool = False
    duplicate_callbacks: bool = False
    deliver_callbacks: bool = True
    inbound_url: str | None = None

    def __post_init__(self) -> None:
        """Validate and normalize every field, however the scenario was built."""
        for f in fields(self):
            object.__setattr__(self, f.name, _PARSERS[f.name](f.name, getattr(self, f.name)))

    @classmethod
    def from_dict(cls, data: Any) -> "Scenario":
        if not isinstance(data, Mapping):
            raise ScenarioError("a scenario is a JSON object")
        unknown = sorted(set(data) - set(_PARSERS))
        if unknown:
            raise ScenarioError(
                f"unknown scenario key(s): {', '.join(unknown)}; known keys: {', '.join(_PARSERS)}"
            )
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | Path) -> "Scenario":
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ScenarioError(f"cannot read scenario {path}: {exc}") from exc
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


# --- value parsers: (key, raw value) -> typed value, or ScenarioError naming the key ----------


def _number(key: str, value: Any, *, low: float = 0.0, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"{key}: expected a number, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"between {low:g} and {high:g}" if high is not None else f">= {low:g}"
        raise ScenarioError(f"{key}: {value!r} must be {bound}")
    return float(value)


def _rate(key: str, value: Any) -> float:
    return _number(key, value, high=1.0)


def _positive(key: str, value: Any) -> float:
    number = _number(key, value)
    if number <= 0:
        raise ScenarioError(f"{key}: {value!r} must be greater than 0")
    return number


def _count(key: str, value: Any, *, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ScenarioError(f"{key}: expected an integer >= {low}, got {value!r}")
    return value


def _range(key: str, value: Any) -> Range:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ScenarioError(f"{key}: expected [min, max], got {value!r}")
    low, high = (_number(f"{key}[{i}]", v) for i, v in enumerate(value))
    if low > high:
        raise ScenarioError(f"{key}: min {low:g} is greater than max {high:g}")
    return (low, high)


def _flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ScenarioError(f"{key}: expected true or false, got {value!r}")
    return value


def _mapping(key: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ScenarioError(f"{key}: expected an object, got {value!r}")
    return value


def _weights(allowed: tuple[str, ...] | None) -> Callable[[str, Any], dict[str, float]]:
    def parse(key: str, value: Any) -> dict[str, float]:
        raw = _mapping(key, value)
        bad = sorted(set(raw) - set(allowed)) if allowed else []
        if bad and allowed:
            names = ", ".join(allowed)
            raise ScenarioError(f"{key}: unknown name(s) {', '.join(bad)}; use {names}")
        weights = {name: _number(f"{key}.{name}", w) for name, w in raw.items()}
        if not any(weights.values()):
            raise ScenarioError(f"{key}: at least one weight must be greater than 0")
        return weights

    return parse


def _error_codes(key: str, value: Any) -> dict[str, float]:
    weights = _weights(None)(key, value)
    bad = [code for code in weights if not code.isdigit()]
    if bad:
        raise ScenarioError(f"{key}: error codes must be numeric strings, got {bad}")
    return weights


def _durations(key: str, value: Any) -> dict[str, Range]:
    raw = _mapping(key, value)
    bad = sorted(set(raw) - {"human", "machine"})
    if bad:
        raise ScenarioError(f"{key}: unknown name(s) {', '.join(bad)}; use human, machine")
    return {**DEFAULT_DURATIONS, **{n: _range(f"{key}.{n}", r) for n, r in raw.items()}}


def _suffixes(key: str, value: Any) -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    for suffix, outcome in _mapping(key, value).items():
        _suffix(f"{key} key", suffix)
        outcomes = (outcome,) if isinstance(outcome, str) else outcome
        if not isinstance(outcomes, list | tuple) or not outcomes:
            raise ScenarioError(f"{key}.{suffix}: expected an outcome or a list of outcomes")
        for name in outcomes:
            if name not in CALL_OUTCOMES + SMS_OUTCOMES:
                allowed = ", ".join(CALL_OUTCOMES + SMS_OUTCOMES)
                raise ScenarioError(f"{key}.{suffix}: unknown outcome {name!r}; use {allowed}")
        table[suffix] = tuple(outcomes)
    return table


def _suffix(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.lstrip("+").isdigit():
        raise ScenarioError(f"{key}: expected digits (a number suffix or an E.164 number)")
    return value


def _landlines(key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise ScenarioError(f"{key}: expected a list of numbers or number suffixes")
    return tuple(_suffix(f"{key}[{i}]", v) for i, v in enumerate(value))


def _penalties(key: str, value: Any) -> dict[str, float]:
    return {
        _suffix(f"{key} key", number): _rate(f"{key}.{number}", p)
        for number, p in _mapping(key, value).items()
    }


def _mps(key: str, value: Any) -> dict[str, float]:
    """Segments per second by sender type; a type left out keeps the contract's rate."""
    if not isinstance(value, Mapping):
        names = ", ".join(SENDER_TYPES)
        raise ScenarioError(f"{key}: expected an object of segments per second by {names}")
    bad = sorted(set(value) - set(SENDER_TYPES))
    if bad:
        raise ScenarioError(
            f"{key}: unknown name(s) {', '.join(bad)}; use {', '.join(SENDER_TYPES)}"
        )
    return {**DEFAULT_MPS, **{name: _positive(f"{key}.{name}", r) for name, r in value.items()}}


def _seed(key: str, value: Any) -> int | None:
    return None if value is None else _count(key, value)


def _url(key: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith(URL_SCHEMES):
        raise ScenarioError(f"{key}: expected an http(s) URL or null, got {value!r}")
    return value


_PARSERS: dict[str, Callable[[str, Any], Any]] = {
    "seed": _seed,
    "time_scale": _number,
    "cps": _positive,
    "mps": _mps,
    "max_concurrent_requests": lambda k, v: _count(k, v, low=1),
    "api_latency_ms": _range,
    "call_outcomes": _weights(CALL_OUTCOMES),
    "call_durations": _durations,
    "ring_seconds": _range,
    "amd_detection_ms": _range,
    "amd_unknown_rate": _rate,
    "amd_machine_end": _weights(MACHINE_END_VERDICTS),
    "sms_delivery_rate": _rate,
    "sms_failed_rate": _rate,
    "sms_error_codes": _error_codes,
    "sms_sent_seconds": _range,
    "sms_delivered_seconds": _range,
    "to_suffix": _suffixes,
    "landlines": _landlines,
    "spam_from": _penalties,
    "callback_delay_ms": _range,
    "amd_verdict_delay_ms": _range,
    "callback_retries": _count,
    "callback_retry_backoff_ms": _number,
    "out_of_order": _flag,
    "duplicate_callbacks": _flag,
    "deliver_callbacks": _flag,
    "inbound_url": _url,
}
