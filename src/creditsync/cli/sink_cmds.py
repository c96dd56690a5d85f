"""The platform's side of the other interfaces (creditsync.sinks): simulators and the exchange tables' DDL."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import typer

from creditsync.cli.output import console, gateway_errors

DEMO_CATEGORIES = "license,penalty"


def register(app: typer.Typer) -> None:
    app.command("exchange-sim")(exchange_sim)
    app.command("exchange-ddl")(exchange_ddl)
    app.command("envelope-sim")(envelope_sim)
    app.command("template-sim")(template_sim)


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


def envelope_sim(
    folder: Path = typer.Option(None, "--folder",
                                help="Take envelopes from FOLDER/outgoing, ack in FOLDER/ack."),
    port: int = typer.Option(None, "--port", "-p", help="Serve POST / (an envelope → its ack), GET /ack/ID "
                             "and /_sim/stats."),
    host: str = typer.Option("127.0.0.1", "--host"),
    reject_rate: float = typer.Option(0.0, "--reject-rate", min=0, max=1),
    interval_s: float = typer.Option(1.0, "--interval-s", min=0.01),
    seed: int = typer.Option(None, "--seed"),
    store: Path = typer.Option(None, "--store", help="SQLite file keeping what the platform published."),
) -> None:
    """Play the platform's side of the XML envelope (a folder job and/or an HTTP endpoint)."""
    from creditsync.simulators.envelope import EnvelopeFolderSimulator, EnvelopeServer

    platform = _platform(store, reject_rate, seed)
    job = EnvelopeFolderSimulator(folder, platform) if folder else None
    server = EnvelopeServer((host, port), platform) if port is not None else None
    _serve(platform, job, server, interval_s)


def template_sim(
    folder: Path = typer.Option(..., "--folder", help="The template sink's folder."),
    port: int = typer.Option(None, "--port", "-p", help="Serve /_sim/stats."),
    host: str = typer.Option("127.0.0.1", "--host"),
    reject_rate: float = typer.Option(0.0, "--reject-rate", min=0, max=1),
    interval_s: float = typer.Option(1.0, "--interval-s", min=0.01),
    seed: int = typer.Option(None, "--seed"),
    store: Path = typer.Option(None, "--store", help="SQLite file keeping what the platform published."),
) -> None:
    """Play the person uploading the template workbooks and the platform returning its result workbooks."""
    from creditsync.simulators.template import TemplateSimulator

    platform = _platform(store, reject_rate, seed)
    server = platform._server(host, port) if port is not None else None
    _serve(platform, TemplateSimulator(folder, platform), server, interval_s)


def _platform(store: Path | None, reject_rate: float, seed: int | None):  # type: ignore[no-untyped-def]
    from creditsync.simulators.platform import FaultConfig, PlatformSimulator

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    faults = FaultConfig(reject_rate=reject_rate, seed=seed)
    return PlatformSimulator(str(store) if store else None, faults=faults)


def _serve(platform: Any, job: Any, server: Any, interval_s: float) -> None:
    """Serve HTTP in a thread and run the folder job until SIGTERM/SIGINT."""
    import signal
    import threading

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True) if server else None
    if thread is not None:
        thread.start()
    try:
        while True:
            if job is not None:
                try:
                    job.run_once()
                except Exception:  # a simulator bug must not end the platform: log it, next round
                    logging.getLogger(__name__).exception("pick-up round failed")
            time.sleep(interval_s)
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        platform.close()
