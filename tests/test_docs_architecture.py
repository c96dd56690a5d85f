"""docs/architecture.md is where a newcomer starts: every module, package or attribute it names in
backticks must exist, so the page cannot drift from the code without a failing test."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "architecture.md"
# `creditsync.x.y` and the short forms the page uses inside a row (`pipeline.decide`, `store.rows`).
DOTTED = re.compile(r"`((?:creditsync\.)?[a-z_]+(?:\.[A-Za-z_]+)+)")
PACKAGES = {p.name for p in (REPO / "src" / "creditsync").iterdir() if p.is_dir() or p.suffix == ".py"}


def named_in_doc() -> list[str]:
    found = []
    for name in DOTTED.findall(DOC.read_text(encoding="utf-8")):
        full = name if name.startswith("creditsync.") else f"creditsync.{name}"
        if full.split(".")[1] in PACKAGES | {p.removesuffix(".py") for p in PACKAGES}:
            found.append(full)
    return sorted(set(found))


def resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


def test_the_page_names_modules() -> None:
    assert len(named_in_doc()) > 20  # the scan finds the page's names at all


@pytest.mark.parametrize("dotted", named_in_doc())
def test_every_name_on_the_architecture_page_exists(dotted: str) -> None:
    assert resolves(dotted), f"docs/architecture.md names {dotted}, which does not exist"


def test_a_missing_name_is_caught() -> None:
    assert not resolves("creditsync.pipeline.no_such_module")
    assert not resolves("creditsync.pipeline.decide.no_such_function")
