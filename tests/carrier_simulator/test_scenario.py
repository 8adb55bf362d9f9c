"""The scenario: validation, defaults, files, `/_sim/scenario`, and deterministic draws."""

import json
import re
from email.utils import parsedate_to_datetime

import pytest
import requests

from carrier_simulator.draw import CallAsk, Drawer
from carrier_simulator.formats import is_e164, num_segments, rfc2822
from carrier_simulator.scenario import Scenario, ScenarioError


def ask(to="+14155550102", from_="+14155550100", amd_mode=None):
    return CallAsk(
        to=to, from_=from_, timeout_s=60, time_limit_s=3600, amd_mode=amd_mode, amd_timeout_s=30
    )


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        ({"colour": "red"}, "unknown scenario key(s): colour"),
        ({"cps": 0}, "cps"),
        ({"call_outcomes": {"human": -1}}, "call_outcomes.human"),
        ({"call_outcomes": {"martian": 1}}, "martian"),
        ({"call_outcomes": {"human": 0}}, "at least one weight"),
        ({"ring_seconds": [5, 1]}, "ring_seconds: min 5 is greater than max 1"),
        ({"to_suffix": {"0001": "explode"}}, "unknown outcome 'explode'"),
        ({"to_suffix": {"abc": "busy"}}, "to_suffix key"),
        ({"out_of_order": "yes"}, "out_of_order: expected true or false"),
        ({"sms_delivery_rate": 1.5}, "sms_delivery_rate"),
        ({"sms_error_codes": {"oops": 1}}, "numeric"),
        ({"spam_from": {"+14155550666": 2}}, "spam_from.+14155550666"),
        ({"inbound_url": "ftp://x"}, "inbound_url"),
        ({"mps": {"long_code": 0}}, "mps"),
        ({"mps": None}, "mps: expected an object"),
        ({"mps": {"pager": 1}}, "pager"),
        ({"spam_from": {"66x": 0.5}}, "spam_from key"),
        ({"seed": "x"}, "seed"),
    ],
)
def test_bad_scenarios_are_refused_with_the_key_named(data, complaint):
    with pytest.raises(ScenarioError, match=re.escape(complaint)):
        Scenario.from_dict(data)


def test_defaults_and_round_trip():
    scenario = Scenario.from_dict({"to_suffix": {"0001": ["busy", "sms_failed"]}, "seed": 3})

    assert scenario.time_scale == 0.001
    assert Scenario.from_dict(scenario.to_dict()) == scenario


def test_rates_and_retries_default_to_the_contract():
    scenario = Scenario()

    assert scenario.cps == 1  # §6: 1 CPS per account
    assert scenario.mps == {"long_code": 1, "toll_free": 3, "short_code": 100}
    assert scenario.callback_retries == 0  # status callbacks are not retried by default


def test_a_partial_mps_overrides_only_the_types_it_names():
    scenario = Scenario.from_dict({"mps": {"toll_free": 9}})

    assert scenario.mps == {"long_code": 1, "toll_free": 9, "short_code": 100}
    assert Scenario.from_dict({"mps": {}}).mps == Scenario().mps


def test_an_empty_scenario_over_http_gets_the_contract_rates(sim):
    current = sim.put_scenario({})

    assert current["cps"] == 1 and current["callback_retries"] == 0
    assert current["mps"] == {"long_code": 1, "toll_free": 3, "short_code": 100}


def test_from_file(tmp_path):
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps({"cps": 5, "landlines": ["7777"]}))

    assert Scenario.from_file(path).landlines == ("7777",)
    path.write_text("{not json")
    with pytest.raises(ScenarioError, match="cannot read scenario"):
        Scenario.from_file(path)


def test_put_and_get_scenario_over_http(sim):
    url = f"{sim.base_url}/_sim/scenario"

    refused = requests.put(url, json={"cps": 1, "nonsense": True}, timeout=5)
    assert refused.status_code == 400 and "nonsense" in refused.json()["error"]
    assert requests.put(url, data="[", timeout=5).status_code == 400

    sim.scenario(cps=7, to_suffix={"0001": "busy"})
    current = requests.get(url, timeout=5).json()
    assert current["cps"] == 7 and current["to_suffix"] == {"0001": ["busy"]}


def test_a_seed_makes_draws_repeatable():
    scenario = Scenario(seed=42)
    first, second = Drawer(scenario), Drawer(scenario)

    assert [first.call(ask()) for _ in range(50)] == [second.call(ask()) for _ in range(50)]
    assert [first.message("+14155550102") for _ in range(50)] == [
        second.message("+14155550102") for _ in range(50)
    ]


def test_suffix_overrides_win_and_the_longest_suffix_first():
    drawer = Drawer(
        Scenario(to_suffix={"0001": "busy", "10001": "failed", "+14155550002": "sms_failed"})
    )

    assert {drawer.call(ask(to="+14155550001")).outcome for _ in range(20)} == {"busy"}
    assert drawer.call(ask(to="+14155510001")).outcome == "failed"
    assert drawer.message("+14155550002").outcome == "failed"
    assert drawer.call(ask(to="+14155550002")).outcome in {
        "human",
        "machine",
        "busy",
        "no_answer",
        "failed",
    }


def test_spam_penalty_moves_answers_to_rejections():
    drawer = Drawer(
        Scenario(seed=1, call_outcomes={"human": 1, "busy": 1}, spam_from={"+14155550666": 0.5})
    )

    outcomes = [drawer.call(ask(from_="+14155550666")).outcome for _ in range(400)]

    assert set(outcomes) == {"human", "busy", "rejected"}
    assert 50 < outcomes.count("human") < 150  # about a quarter instead of a half


def test_spam_from_keys_are_suffixes_and_the_longest_wins():
    drawer = Drawer(Scenario(call_outcomes={"human": 1}, spam_from={"0666": 1.0, "10666": 0.0}))

    assert {drawer.call(ask(from_="+14155550666")).outcome for _ in range(20)} == {"rejected"}
    assert {drawer.call(ask(from_="+14155510666")).outcome for _ in range(20)} == {"human"}
    assert {drawer.call(ask(from_="+14155550667")).outcome for _ in range(20)} == {"human"}


def test_invalid_number_is_an_outcome_a_suffix_or_a_weight_can_choose():
    by_suffix = Drawer(Scenario(to_suffix={"0404": "invalid_number"}))
    by_weight = Drawer(Scenario(call_outcomes={"invalid_number": 1}))

    plan = by_suffix.call(ask(to="+14155550404"))
    assert (plan.outcome, plan.sip_code) == ("invalid_number", 404)
    assert by_weight.call(ask()).outcome == "invalid_number"
    assert "invalid_number" not in Scenario().call_outcomes  # never drawn unless asked for


def test_segments_and_formats():
    assert num_segments("a" * 160) == 1 and num_segments("a" * 161) == 2
    assert num_segments("a" * 306) == 2 and num_segments("a" * 307) == 3
    assert num_segments("{" * 80) == 1 and num_segments("{" * 81) == 2  # extension: 2 septets
    assert num_segments("é" * 160) == 1  # in the GSM-7 basic table
    assert num_segments("😀" * 35) == 1 and num_segments("😀" * 36) == 2  # 2 UTF-16 units each
    assert rfc2822(0) == "Thu, 01 Jan 1970 00:00:00 +0000"
    assert parsedate_to_datetime(rfc2822(1_700_000_000)).timestamp() == 1_700_000_000
    assert is_e164("+14155550100") and not is_e164("14155550100") and not is_e164("+0123456789")
