"""``creditsync withdraw`` (终止公示 by an operator) and ``creditsync release`` (lift it): what the console's
buttons do, from a shell. Both are audited with the actor (CREDITSYNC_ACTOR, else user@host) and the
reason; a withdrawal holds until released, whatever the department's system sends meanwhile. Exit 0
done, 2 refused (no such record, not allowed from its state, no reason), 3 delivery incomplete (the
withdrawal stays queued and goes with the department's next push)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from creditsync.cli.output import console, gateway_errors, print_json
from creditsync.cli.publication_cmds import Format

if TYPE_CHECKING:
    from creditsync.lifecycle import RunScope
    from creditsync.pipeline.runner import Gateway


def register(app: typer.Typer) -> None:
    app.command("withdraw")(withdraw_cmd)
    app.command("release")(release_cmd)


RECORD = typer.Argument(..., metavar="KEY|文书号", help="The record: business key or 文书号 (any spelling).")
REASON = typer.Option(..., "--reason", help="Why (kept in the audit trail).")
DELIVER = typer.Option(True, "--deliver/--queue-only", help="Send it now, or leave it to the next push.")


def withdraw_cmd(record: str = RECORD, reason: str = REASON, deliver: bool = DELIVER,
                 output: Format = typer.Option(Format.table, "--format", "-f")) -> None:
    """终止公示: take a record off display by hand, until `creditsync release`."""
    from creditsync.lifecycle import operations

    with gateway_errors():
        gateway, scope = _open("withdraw")
        try:
            done = operations.withdraw(gateway.store, scope, record, reason)
            if deliver and done.queued:
                _deliver(gateway, done.department)
        finally:
            gateway.store.dispose()
    if output is Format.json:
        print_json(vars(done))
        return
    sent = "withdrawal queued" if done.queued else "the platform never had it: ended at once"
    console.print(f"{done.business_key} ({done.document_no}): {done.state_before} → withdrawn by an "
                  f"operator ({sent})")


def release_cmd(record: str = RECORD, reason: str = REASON, deliver: bool = DELIVER,
                output: Format = typer.Option(Format.table, "--format", "-f")) -> None:
    """Lift an operator's 终止公示: the record goes out again (now where the store can send it, else
    with the department's next read of it)."""
    from creditsync.lifecycle import operations

    with gateway_errors():
        gateway, scope = _open("release")
        try:
            row = operations.release(gateway.store, scope, record, reason)
            if deliver and row["state"] == "pending":
                _deliver(gateway, row["department"])
        finally:
            gateway.store.dispose()
    if output is Format.json:
        print_json({"business_key": row["business_key"], "state": row["state"]})
        return
    how = ("queued to be published again" if row["state"] == "pending" else
           "published again when the department's system is next read (re-drive its stream to read it now)")
    console.print(f"{row['business_key']} ({row['document_no']}): released, {how}")


def _open(verb: str) -> tuple[Gateway, RunScope]:
    from creditsync.audit import AuditTrail
    from creditsync.lifecycle import RunScope, now
    from creditsync.pipeline.runner import Gateway

    gateway = Gateway.open()
    return gateway, RunScope("(operator)", f"{verb}__{now().strftime('%Y%m%dT%H%M%S%f')}", AuditTrail())


def _deliver(gateway: Gateway, department: str) -> None:
    from creditsync.pipeline.daily import deliver_withdrawals

    deliver_withdrawals(gateway, [department])
