"""Shared output helpers: JSON lines, rich tables, and turning gateway errors into exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from creditsync.exceptions import ConfigurationError, CreditSyncError, FatalError, RetriableError

console = Console()
errors = Console(stderr=True)
T = TypeVar("T")

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")


@contextmanager
def gateway_errors() -> Iterator[None]:
    """Map the exception hierarchy to exit codes with one clear line on stderr."""
    try:
        yield
    except ConfigurationError as exc:
        errors.print(f"[red]configuration error:[/red] {_plain(exc)}")
        raise typer.Exit(EXIT_USAGE) from exc
    except RetriableError as exc:
        errors.print(f"[yellow]delivery incomplete, run again to continue:[/yellow] {_plain(exc)}")
        raise typer.Exit(EXIT_INCOMPLETE) from exc
    except FatalError as exc:
        errors.print(f"[red]failed:[/red] {_plain(exc)}")
        raise typer.Exit(EXIT_INVALID) from exc
    except CreditSyncError as exc:
        errors.print(f"[red]error:[/red] {_plain(exc)}")
        raise typer.Exit(EXIT_INVALID) from exc


def _plain(exc: Exception) -> str:
    """The message as text, not rich markup: its ``[department=…, run_id=…]`` context must show, and a
    quoted ``[/…]`` from a peer's answer must not crash the command."""
    return escape(str(exc))


def guarded(fn: Callable[[], T]) -> T:
    with gateway_errors():
        return fn()
