"""A local carrier that speaks the part of Twilio's REST API the platform uses.

It answers the official SDK like Twilio does (contract: `shared/carrier/TWILIO_CONTRACT.md`),
plays calls and messages out according to a scenario and posts signed callbacks. Start it
with `manage.py run_carrier_simulator`, or in-process with `SimulatorServer`.
"""

from carrier_simulator.scenario import Scenario, ScenarioError
from carrier_simulator.server import Simulator, SimulatorServer, serve

__all__ = ["Scenario", "ScenarioError", "Simulator", "SimulatorServer", "serve"]
