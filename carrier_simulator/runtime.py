"""The shared state every part of the simulator works on, and how callbacks leave it."""

import random
import time
from dataclasses import dataclass, field

from carrier_simulator.callbacks import Callback, Dispatcher, Signer
from carrier_simulator.draw import Drawer
from carrier_simulator.scenario import Scenario
from carrier_simulator.state import Store
from carrier_simulator.stats import Stats


@dataclass
class Runtime:
    accounts: dict[str, str]  # AccountSid -> AuthToken
    scenario: Scenario
    dispatcher: Dispatcher
    stats: Stats
    store: Store = field(default_factory=Store)
    signer: Signer = field(default_factory=Signer)
    drawer: Drawer = field(init=False)
    delivery_rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.use_scenario(self.scenario)

    def use_scenario(self, scenario: Scenario) -> None:
        """Switch scenario: outcome draws restart from its seed; live calls keep their plans."""
        self.scenario = scenario
        self.drawer = Drawer(scenario)
        self.delivery_rng = random.Random(scenario.seed)

    @staticmethod
    def now() -> float:
        return time.time()

    def dropping_callbacks(self) -> bool:
        """True, counting one dropped, when the scenario delivers no status or AMD callbacks:
        the caller then builds and signs none."""
        if self.scenario.deliver_callbacks:
            return False
        self.stats.callbacks_dropped += 1
        return True

    def sign(
        self, *, kind: str, account_sid: str, url: str, method: str, params: dict[str, str]
    ) -> Callback:
        return self.signer.build(
            kind=kind, url=url, method=method, params=params, auth_token=self.accounts[account_sid]
        )

    def send(self, lane: str, held: list[Callback], callback: Callback, *, final: bool) -> None:
        """Deliver a status callback now, or hold it for a shuffled flush when `out_of_order`."""
        if self.scenario.out_of_order:
            held.append(callback)
            if final:
                self.flush(lane, held)
            return
        self.dispatcher.submit(lane, self._copies([callback]))

    def send_now(self, lane: str, callback: Callback) -> None:
        self.dispatcher.submit(lane, self._copies([callback]))

    def flush(self, lane: str, held: list[Callback]) -> None:
        """Send held callbacks shuffled (never in their original order when there are two+)."""
        original = list(held)
        held.clear()
        batch = list(original)
        self.delivery_rng.shuffle(batch)
        if len(batch) > 1 and batch == original:
            batch.reverse()
        self.dispatcher.submit(lane, self._copies(batch))

    def _copies(self, callbacks: list[Callback]) -> list[Callback]:
        if not self.scenario.duplicate_callbacks:
            return callbacks
        return [c for callback in callbacks for c in (callback, callback)]
