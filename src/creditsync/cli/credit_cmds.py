"""The credit loop from the shell (docs/credit-loop.md): ``creditsync feed pull``, ``creditsync
check-subject``, ``creditsync inspect draw`` / ``inspect verify``, ``creditsync feed deliver``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from creditsync.cli.output import console, gateway_errors, print_json

if TYPE_CHECKING:
    from creditsync.pipeline.runner import Gateway

feed_app = typer.Typer(help="The platform's joint-punishment lists and credit grades (信用名单与评价).",
                       no_args_is_help=True)
inspect_app = typer.Typer(help="双随机 spot-check draws by credit grade.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("check-subject")(check_subject)
    app.add_typer(feed_app, name="feed")
    app.add_typer(inspect_app, name="inspect")


def _gateway() -> Gateway:
    from creditsync.pipeline.runner import Gateway

    return Gateway.open()


@feed_app.command("pull")
def feed_pull(as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Pull the list and grade changes since the last pull into the store (every version kept, audited)."""
    from creditsync.credit.feed import CreditFeedClient, pull_all

    with gateway_errors():
        gateway = _gateway()
        try:
            reports = pull_all(gateway.store, CreditFeedClient.like(gateway.platform_client()))
        finally:
            gateway.store.dispose()
    if as_json:
        print_json([vars(r) for r in reports])
        return
    for report in reports:
        console.print(f"{report.feed}: {report.received} change(s) in {report.pages} page(s), "
                      f"cursor {report.cursor or '-'}")


@feed_app.command("deliver")
def feed_deliver(as_json: bool = typer.Option(False, "--json", help="Print what was sent as JSON.")) -> None:
    """Send the list and grade changes not yet delivered to the departments in credit/deliveries.yaml."""
    from creditsync.audit import AuditTrail
    from creditsync.credit.deliveries import deliver_all

    with gateway_errors():
        gateway = _gateway()
        try:
            delivered = deliver_all(gateway, AuditTrail())
        finally:
            gateway.store.dispose()
    if as_json:
        print_json(delivered)
        return
    for department, feeds in delivered.items():
        console.print(f"{department}: " + ", ".join(f"{feed} {count}" for feed, count in feeds.items()))


def check_subject(
    subject: str = typer.Option(..., "--subject", help="USCC or ID number (shown masked, never stored)."),
    matter: str = typer.Option(..., "--matter", help="The matter code (事项编码) in credit/measures.yaml."),
    department: str = typer.Option(None, "--department", help="The department checking."),
    as_of: str = typer.Option(None, "--as-of", metavar="TIME",
                              help="Replay: what a check at this ISO time answered (not recorded)."),
    as_json: bool = typer.Option(False, "--json", help="Print the answer as JSON."),
) -> None:
    """信用核查: is the subject listed, which measures apply to this matter, its grade; recorded and audited.
    With --as-of, the answer from what the gateway knew then. Exit 0 not listed, 1 listed."""
    from creditsync.audit import AuditTrail
    from creditsync.credit.check import CheckRequest, check, replay
    from creditsync.credit.measures import load_catalogue
    from creditsync.credit.subjects import Subject

    with gateway_errors():
        gateway = _gateway()
        try:
            catalogue = load_catalogue(gateway.settings.home)
            if as_of:
                result = replay(gateway.store, catalogue, Subject.of(subject), matter, _moment(as_of))
                result = {"check_id": f"(replay as of {as_of})", **result}
            else:
                result = check(gateway.store, catalogue, CheckRequest(subject, matter, department),
                               AuditTrail())
        finally:
            gateway.store.dispose()
    if as_json:
        print_json(result)
    else:
        _print_check(result)
    raise typer.Exit(1 if result["listed"] else 0)


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not an ISO time: {text!r}", param_hint="--as-of") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("Asia/Shanghai"))


def _print_check(result: dict[str, object]) -> None:
    grade = result["grade"]
    console.print(f"check {result['check_id']}: {result['subject']} · matter {result['matter']}")
    console.print("listed 在名单中" if result["listed"] else "not listed 未列入名单")
    table = Table("list", "cause", "authority", "from", "to", title="entries in force")
    for entry in result["entries"]:  # type: ignore[attr-defined]
        table.add_row(entry["list_name"], entry["cause"], entry["authority"], entry["start_date"] or "",
                      entry["end_date"] or "")
    if result["entries"]:
        console.print(table)
    for measure in result["measures"]:  # type: ignore[attr-defined]
        console.print(f"measure {measure['code']} {measure['name']} ({measure['basis']})")
    shown = f"grade {grade['grade']} ({grade['graded_on']})" if isinstance(grade, dict) else "grade: none"
    console.print(shown)


@inspect_app.command("draw")
def inspect_draw(
    department: str = typer.Option(..., "--department", help="The department whose register is drawn from."),
    plan: Path = typer.Option(..., "--plan", exists=True, dir_okay=False, help="The draw plan (YAML)."),
    xlsx: Path = typer.Option(None, "--xlsx", help="Write the list here (default: var/draws/<id>.xlsx)."),
    as_json: bool = typer.Option(False, "--json", help="Print the draw as JSON."),
) -> None:
    """Draw subjects by grade from the department's register: the seed is committed (its hash audited)
    before the register is read and published after; anyone can re-run it (`inspect verify`)."""
    from creditsync.audit import AuditTrail
    from creditsync.credit.draws import draw, export_xlsx, load_plan

    with gateway_errors():
        gateway = _gateway()
        try:
            outcome = draw(gateway.store, department, load_plan(plan), AuditTrail())
            target = xlsx or gateway.settings.var_dir / "draws" / f"{outcome['draw_id']}.xlsx"
            export_xlsx(outcome, target)
        finally:
            gateway.store.dispose()
    if as_json:
        print_json(outcome | {"xlsx": str(target)})
        return
    console.print(f"draw {outcome['draw_id']}: {len(outcome['drawn'])} of {outcome['register_size']} "
                  f"subjects; seed {outcome['seed']} (commitment {outcome['seed_commitment']}); "
                  f"list in {target}")


@inspect_app.command("verify")
def inspect_verify(
    draw_id: str = typer.Argument(..., help="The draw's id."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Re-run a published draw from its seed against the register as it is now: exit 0 same list,
    1 different (the register changed after the commitment, or the draw was altered)."""
    from creditsync.audit import AuditTrail
    from creditsync.credit.draws import verify

    with gateway_errors():
        gateway = _gateway()
        try:
            outcome = verify(gateway.store, draw_id, AuditTrail())
        finally:
            gateway.store.dispose()
    if as_json:
        print_json(outcome)
    else:
        for problem in outcome["problems"]:
            console.print(f"[red]{problem}[/red]")
        same = "the same list 名单一致" if outcome["ok"] else "[red]NOT the same list 名单不一致[/red]"
        console.print(same)
    raise typer.Exit(0 if outcome["ok"] else 1)
