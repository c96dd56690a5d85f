"""Simulators of district departments' own systems, each speaking its department's native format.

Each one is started by ``creditsync source-sim <department>`` through :data:`SIMULATORS`, and runs
until SIGTERM/SIGINT:

``market_supervision``  长清区市场监督管理局's case and licensing system (a REST API);
``urban_management``    长清区综合行政执法局's open API (OAuth2, next links, epoch-ms cursors), the system of
the guide's OAuth2 walk-through (not one of the demo's DAGs).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SimulatorOptions:
    """What any department simulator may need; each uses the parts that fit its kind of system."""

    host: str
    port: int
    seed: int
    token: str  # API token for HTTP systems
    workdir: Path  # where file-based or database-based systems keep their data


def _run_market_supervision(options: SimulatorOptions) -> None:
    from creditsync.simulators.departments.market_supervision import run_market_supervision_simulator

    run_market_supervision_simulator(options.host, options.port, options.token, options.seed)


# department → "module:function" taking SimulatorOptions (imported only when started)
SIMULATORS: dict[str, str] = {
    "market_supervision": "creditsync.simulators.departments:_run_market_supervision",
    "ecology_environment": "creditsync.simulators.departments.ecology_environment:run_from_options",
    "emergency_management": "creditsync.simulators.departments.emergency_management:run_simulator",
    "health": "creditsync.simulators.departments.health:run_from_options",
    "urban_management": "creditsync.simulators.departments.urban_management:run_from_options",
}


def simulator(department: str) -> Callable[[SimulatorOptions], None]:
    if department not in SIMULATORS:
        known = ", ".join(sorted(SIMULATORS))
        raise KeyError(f"no simulator for {department!r}; available: {known}")
    module, _, name = SIMULATORS[department].partition(":")
    runner: Callable[[SimulatorOptions], None] = getattr(importlib.import_module(module), name)
    return runner
