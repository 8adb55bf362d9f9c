"""Driving the carrier simulator from tests."""

import requests


def sim_scenario(base_url: str, **values) -> dict:
    """Replace the simulator's scenario: instant, seeded, and without the contract's 1 CPS and
    1/3/100 MPS throttles unless `values` set them (a partial `mps` keeps the rest fast)."""
    mps = {"long_code": 1000, "toll_free": 1000, "short_code": 1000, **values.pop("mps", {})}
    scenario = {"time_scale": 0, "seed": 11, "cps": 1000, "mps": mps, **values}
    response = requests.put(f"{base_url}/_sim/scenario", json=scenario, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()
