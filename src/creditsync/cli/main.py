"""``creditsync``: the gateway's command line. Exit codes: 0 ok, 1 some records invalid/rejected,
2 usage or configuration error, 3 delivery incomplete (run it again to continue)."""

from __future__ import annotations

import logging
import os

import typer

from creditsync.cli import audit_cmds, quarantine_cmds, reconcile_cmds, records_cmds, service_cmds, sync_cmds
from creditsync.cli.publication_cmds import app as publication_app
from creditsync.cli.schema_cmds import app as schema_app

app = typer.Typer(
    name="creditsync", no_args_is_help=True, add_completion=False,
    help="CreditSync: department systems → municipal public credit information platform (双公示).",
)
records_cmds.register(app)
sync_cmds.register(app)
service_cmds.register(app)
reconcile_cmds.register(app)
app.add_typer(audit_cmds.app, name="audit")
app.add_typer(quarantine_cmds.app, name="quarantine")
app.add_typer(publication_app)
app.add_typer(schema_app)


@app.callback()
def _configure(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress to stderr."),
) -> None:
    level = logging.INFO if verbose or os.environ.get("CREDITSYNC_VERBOSE") else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


if __name__ == "__main__":
    app()
