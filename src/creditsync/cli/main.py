"""``creditsync``: the gateway's command line.

Exit codes (creditsync.cli.exit_codes): 0 done, 1 some records invalid/rejected, 2 usage or
configuration error, 3 incomplete (run again to continue). A failure prints one line on stderr;
``--verbose`` adds the traceback. Secrets are masked in everything it prints and logs.

Start-up imports only typer, rich and the command modules, which import the rest of the gateway
inside the commands (``creditsync --help`` must not load Airflow, SQLAlchemy, openpyxl or lxml).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import typer

from creditsync.cli import (
    audit_cmds,
    check_cmds,
    credit_cmds,
    output,
    quarantine_cmds,
    reconcile_cmds,
    records_cmds,
    relink_cmds,
    report_cmds,
    service_cmds,
    sink_cmds,
    sync_cmds,
    withdraw_cmds,
)
from creditsync.cli.publication_cmds import app as publication_app
from creditsync.cli.schema_cmds import app as schema_app


class _CommandLine(typer.Typer):
    """The installed ``creditsync``: a failure no command mapped still ends as one line and exit 3,
    not as a traceback."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:  # the last resort: commands map their own failures (output.fail)
            sys.exit(output.fail(exc))


app = _CommandLine(
    name="creditsync", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="CreditSync: department systems → municipal public credit information platform (双公示). "
         "Exit codes: 0 done, 1 some records invalid or rejected, 2 usage or configuration error, "
         "3 incomplete (run again to continue).",
)
records_cmds.register(app)
sync_cmds.register(app)
service_cmds.register(app)
reconcile_cmds.register(app)
check_cmds.register(app)
withdraw_cmds.register(app)
relink_cmds.register(app)
credit_cmds.register(app)
sink_cmds.register(app)
app.add_typer(audit_cmds.app, name="audit")
app.add_typer(quarantine_cmds.app, name="quarantine")
app.add_typer(publication_app)
app.add_typer(schema_app)
app.add_typer(report_cmds.app, name="report")


@app.callback()
def _configure(
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="Log progress to stderr; show the traceback of a failure."),
) -> None:
    from creditsync import settings
    from creditsync.secrets import install_log_redaction

    verbose = verbose or settings.verbose()
    output.set_verbose(verbose)
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_redaction()


if __name__ == "__main__":
    app()
