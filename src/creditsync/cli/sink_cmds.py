"""The platform's side of the other interfaces (creditsync.sinks): simulators and the exchange tables' DDL."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer

from creditsync.cli.output import console, gateway_errors

DEMO_CATEGORIES = "license,penalty"


def register(app: typer.Typer) -> None:
    app.command("exchange-sim")(exchange_sim)
    app.command("exchange-ddl")(exchange_ddl)


def exchange_sim(
    db_url: str = typer.Option(..., "--db-url", help="The exchange database (a SQLAlchemy URL)."),
    layout: Path = typer.Option(None, "--layout", help="The tables' layout (YAML); default: the preset."),
    categories: str = typer.Option(DEMO_CATEGORIES, "--categories", help="Comma-separated categories."),
    reject_rate: float = typer.Option(0.0, "--reject-rate", min=0, max=1,
                                      help="Share of valid records rejected with a validation message."),
    delay_s: float = typer.Option(0.0, "--delay-s", min=0, help="Take a row only this long after 入库时间."),
    interval_s: float = typer.Option(1.0, "--interval-s", min=0.01, help="Seconds between two pick-ups."),
    seed: int = typer.Option(None, "--seed", help="Make the rejections repeatable."),
    store: Path = typer.Option(None, "--store", help="SQLite file keeping what the platform published."),
    port: int = typer.Option(None, "--port", "-p", help="Serve /_sim/stats (the API simulator's counts)."),
    host: str = typer.Option("127.0.0.1", "--host"),
    once: bool = typer.Option(False, "--once", help="One pick-up round, print the counts, exit."),
) -> None:
    """Play the platform's pick-up job on the exchange database (前置库): create the agreed tables if
    missing, validate new rows with the API simulator's rules, write back 处理标志/处理结果/平台记录编号."""
    from creditsync.simulators.exchange import ExchangeSimulator, run_exchange_simulator
    from creditsync.simulators.platform import FaultConfig, PlatformSimulator
    from creditsync.sinks.exchange_db import load_layout

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with gateway_errors():
        platform = PlatformSimulator(str(store) if store else None,
                                     faults=FaultConfig(reject_rate=reject_rate, seed=seed))
        sim = ExchangeSimulator(db_url, load_layout(layout), _categories(categories), platform,
                                delay_s=delay_s)
        sim.create_tables()
    if once:
        sim.run_once()
        console.print_json(json.dumps(platform.stats(), ensure_ascii=False))
        platform.close()
        sim.engine.dispose()
        return
    run_exchange_simulator(sim, interval_s, host, port)


def exchange_ddl(
    dialect: str = typer.Option("mysql", "--dialect", help="mysql | postgresql | oracle | dameng"),
    layout: Path = typer.Option(None, "--layout", help="The tables' layout (YAML); default: the preset."),
    categories: str = typer.Option(DEMO_CATEGORIES, "--categories", help="Comma-separated categories."),
) -> None:
    """Print the CREATE TABLE/INDEX statements of the exchange tables, to agree on with the platform."""
    from creditsync.sinks.exchange_db.ddl import ddl

    with gateway_errors():
        from creditsync.sinks.exchange_db import load_layout

        print(ddl(load_layout(layout), _categories(categories), dialect))


def _categories(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]
