"""Shared output helpers: JSON, rich consoles, and turning failures into exit codes (cli.exit_codes).

Imported by every command module at start-up, so it imports nothing heavy: the rest of the gateway is
imported inside the commands that need it."""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from creditsync.cli.exit_codes import EXIT_INCOMPLETE, EXIT_INVALID, EXIT_OK, EXIT_USAGE, classify

__all__ = ["EXIT_INCOMPLETE", "EXIT_INVALID", "EXIT_OK", "EXIT_USAGE", "console", "errors", "fail",
           "gateway_errors", "guarded", "print_json", "safe_text"]

console = Console()
errors = Console(stderr=True)
T = TypeVar("T")
_state = {"verbose": False}


def set_verbose(verbose: bool) -> None:
    """``--verbose``: tracebacks of failures are shown (masked) after their one-line reason."""
    _state["verbose"] = verbose


def print_json(data: Any) -> None:
    """One JSON document (one line), ID numbers masked by the caller; secrets masked here."""
    sys.stdout.write(safe_text(json.dumps(data, ensure_ascii=False, default=str)) + "\n")


def safe_text(text: str) -> str:
    """Text with every configured secret masked (creditsync.secrets.redact)."""
    from creditsync.secrets import redact

    return redact(text)


@contextmanager
def gateway_errors() -> Iterator[None]:
    """Any failure becomes its exit code with one clear line on stderr (cli.exit_codes)."""
    try:
        yield
    except (typer.Exit, typer.Abort, typer.TyperException, KeyboardInterrupt):
        raise
    except Exception as exc:  # every failure, expected or not, ends as one line and a documented code
        raise typer.Exit(fail(exc)) from exc


def fail(exc: BaseException) -> int:
    """Say why ``exc`` ended the command, on stderr, and return its exit code."""
    outcome = classify(exc)
    if _state["verbose"]:
        errors.print(escape(_masked("".join(traceback.format_exception(exc)))), end="", soft_wrap=True)
    colour = "yellow" if outcome.code == EXIT_INCOMPLETE else "red"
    label, reason = _masked(outcome.label), _masked(outcome.reason)
    # The message as text, not rich markup: its ``[department=…, run_id=…]`` context must show, and a
    # quoted ``[/…]`` from a peer's answer must not crash the command.
    errors.print(f"[{colour}]{escape(label)}:[/{colour}] {escape(reason)}", soft_wrap=True)
    return outcome.code


def _masked(text: str) -> str:
    """Secrets and natural persons' ID numbers never reach the terminal, whoever wrote the message."""
    from creditsync.privacy import mask_text

    return mask_text(safe_text(text))


def guarded(fn: Callable[[], T]) -> T:
    with gateway_errors():
        return fn()
