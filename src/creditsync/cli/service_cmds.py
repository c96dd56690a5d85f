"""Long-running helpers and set-up: the store schema, simulators, the mapping JSON Schema."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from creditsync.cli.output import console, gateway_errors


def register(app: typer.Typer) -> None:
    app.command("db-upgrade")(db_upgrade)
    app.command("platform-sim")(platform_sim)
    app.command("source-sim")(source_sim)
    app.command("mapping-schema")(mapping_schema)
    app.command("new-adapter")(new_adapter)
    app.command("deploy-init")(deploy_init)


def db_upgrade() -> None:
    """Create or upgrade the gateway store (CREDITSYNC_DB_URL) to the newest schema, and seal rows
    written before seals existed (audited: whoever upgrades vouches for the store as it is)."""
    from creditsync.audit import AuditTrail
    from creditsync.lifecycle import RunScope, now
    from creditsync.lifecycle.adoption import seal_unsealed
    from creditsync.settings import load_settings
    from creditsync.store.db import open_store

    settings = load_settings()
    with gateway_errors():
        store = open_store(settings.db_url, migrate=True)
        try:
            scope = RunScope("(store)", f"db-upgrade__{now().strftime('%Y%m%dT%H%M%S%f')}", AuditTrail())
            with store.transaction() as session:
                sealed = seal_unsealed(session, scope)
        finally:
            store.dispose()
    console.print(f"store is up to date: {_safe_url(settings.db_url)}")
    if sealed.any:
        console.print(f"sealed rows written before seals existed: {sealed.records} records, "
                      f"{sealed.versions} versions, {sealed.cursors} cursors, {sealed.payloads} pending "
                      "payloads")


def deploy_init(
    roles: bool = typer.Option(True, "--roles/--no-roles",
                               help="Create the operator and auditor roles (FAB auth manager only)."),
) -> None:
    """The deployment's init step, after ``airflow db migrate``: upgrade the gateway store, create one
    Airflow pool per department (sized by its pool_slots) and, under FAB, the gateway's roles
    (creditsync.orchestration.deployment). Idempotent."""
    from creditsync.departments import load_departments
    from creditsync.orchestration import deployment
    from creditsync.settings import load_settings

    db_upgrade()
    with gateway_errors():
        configs = load_departments(load_settings().adapters_dir)
        for pool in deployment.ensure_pools(deployment.department_pools(configs)):
            console.print(f"pool {pool.name}: {pool.slots} slots")
        if roles and deployment.uses_fab():
            for role in deployment.ensure_roles():
                console.print(f"role {role}: up to date")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def platform_sim(
    port: int = typer.Option(8700, "--port", "-p"),
    host: str = typer.Option("127.0.0.1", "--host"),
    store: Path = typer.Option(None, "--store", help="SQLite file keeping what the platform received."),
    fault_rate: float = typer.Option(0.0, "--fault-rate", min=0, max=1, help="Share of transient failures."),
    lost_ack_rate: float = typer.Option(0.0, "--lost-ack-rate", min=0, max=1,
                                        help="Share of batches committed whose answer is lost."),
    reject_rate: float = typer.Option(0.0, "--reject-rate", min=0, max=1,
                                      help="Share of records rejected with a validation message."),
    slow_ms: int = typer.Option(0, "--slow-ms", min=0, help="Delay every answer by this much."),
    seed: int = typer.Option(None, "--seed", help="Make the faults repeatable."),
) -> None:
    """Start the municipal platform simulator (the reference push protocol, docs/platform-protocol.md)."""
    from creditsync.settings import PLATFORM_APP_KEY
    from creditsync.simulators.platform import FaultConfig, run_platform_simulator

    faults = FaultConfig(fault_rate=fault_rate, lost_ack_rate=lost_ack_rate, reject_rate=reject_rate,
                         slow_ms=slow_ms, seed=seed)
    app_key = PLATFORM_APP_KEY.read() or "demo-app-key"
    run_platform_simulator(host, port, str(store) if store else None, faults, app_key)


def source_sim(
    department: str = typer.Argument("market_supervision", help="Which demo department system."),
    port: int = typer.Option(8701, "--port", "-p", help="For systems reached over HTTP."),
    host: str = typer.Option("127.0.0.1", "--host"),
    seed: int = typer.Option(7, "--seed", help="The same seed gives the same records."),
    workdir: Path = typer.Option(Path(".sim"), "--workdir",
                                 help="Where database- and file-based systems keep their data."),
) -> None:
    """Start a demo department's own system (synthetic but realistic records), until stopped."""
    from creditsync.settings import source_token
    from creditsync.simulators.departments import SimulatorOptions, simulator

    try:
        run = simulator(department)
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0])) from exc
    token = source_token()
    run(SimulatorOptions(host=host, port=port, seed=seed, token=token, workdir=workdir / department))


def mapping_schema(output: Path = typer.Option(None, "--output", "-o")) -> None:
    """Print (or write) the JSON Schema of mapping files, for editors."""
    from creditsync.mapping import mapping_json_schema

    text = json.dumps(mapping_json_schema(), ensure_ascii=False, indent=2)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
        console.print(f"wrote {output}")
    else:
        typer.echo(text)


def new_adapter(
    name: str = typer.Argument(..., help="Department id in lower_snake_case, e.g. culture_tourism"),
    source: str = typer.Option(..., "--source", "-s", help="rest | xml | sql | file"),
    title: str = typer.Option(None, "--title", "-t", help="Chinese name, e.g. 长清区文化和旅游局"),
    category: list[str] = typer.Option(None, "--category", "-c", help="Streams (default: penalty)."),
    auth: str = typer.Option(None, "--auth", help="rest: bearer | api_key | basic | "
                             "oauth2_client_credentials | session_token | none (asked when omitted)"),
    paging: str = typer.Option(None, "--paging", help="rest: page_number | offset | next_link | "
                               "cursor_token | none (asked when omitted)"),
    cursor_format: str = typer.Option(None, "--cursor-format",
                                      help="rest: iso8601 | epoch_ms | epoch_s | row_version"),
) -> None:
    """Scaffold a department: adapters/NAME.yaml, mappings/NAME/*.yaml, sample fixtures and a test."""
    from creditsync.scaffold import new_department
    from creditsync.settings import load_settings

    root = load_settings().home
    if source == "rest" and sys.stdin.isatty():  # asked, with the usual answer as the default
        auth = auth or typer.prompt("How does the API authenticate? bearer, api_key, basic, "
                                    "oauth2_client_credentials, session_token, none", default="bearer")
        paging = paging or typer.prompt("How does it page? page_number, offset, next_link, cursor_token, "
                                        "none", default="page_number")
    with gateway_errors():
        scaffold = new_department(root, name, source, title, category or None, auth=auth, paging=paging,
                                  cursor_format=cursor_format)
    for path in scaffold.written:
        console.print(f"  created {path.relative_to(root)}")
    console.print(f"\nNext: edit the mappings, then run [bold].venv/bin/pytest tests/departments/"
                  f"test_department_{name}.py[/bold]; the DAG sync__{name} appears in Airflow by itself.")
