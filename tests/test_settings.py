"""Every environment variable in one place: settings.py declares it, the README's table documents it,
and no other module reads the environment by itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from creditsync import settings
from creditsync.exceptions import ConfigurationError
from creditsync.settings import VARIABLES, load_settings

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "creditsync"
PYTHON_SOURCES = [*PACKAGE.rglob("*.py"), *(REPO / "dags").rglob("*.py"), *(REPO / "plugins").rglob("*.py")]
NAME = re.compile(r"\bCREDITSYNC_[A-Z0-9_]*[A-Z0-9]\b")
CONNECTIONS_ROW = "AIRFLOW_CONN_<ID>"
# Modules that still read os.environ themselves; each must switch to the reader named in settings.py
# (privacy.keyed_hash → settings.hash_key, audit.trail.default_actor → settings.actor, sources.xml →
# settings.xml_record_tag, the two simulators → settings.simulator_interval). Remove a line when done:
# the test below fails for a module listed here that no longer reads the environment.
STILL_TO_SWITCH: set[str] = set()  # every module reads its settings through settings.py
READS_ENVIRONMENT_BY_DESIGN = {"settings.py"}
WRITERS = {"setdefault", "update", "pop"}  # os.environ.<these> set the environment, not read it


def readme_table() -> dict[str, str]:
    """The README's configuration table: variable → the rest of its row."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1].split("\n#", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 3:
            rows[cells[0].split("`")[1]] = " | ".join(cells[1:])
    return rows


def names_in_source() -> dict[str, set[str]]:
    """Every CREDITSYNC_* name the package's code mentions, with the files that mention it."""
    found: dict[str, set[str]] = {}
    for path in PYTHON_SOURCES:
        for name in NAME.findall(path.read_text(encoding="utf-8")):
            found.setdefault(name, set()).add(str(path.relative_to(REPO)))
    return found


def environment_readers() -> set[str]:
    """Modules (relative to the package) that read ``os.environ`` or call ``os.getenv``; writing the
    environment (``setdefault``, assignment) is not reading it."""
    readers = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if _reads_environment(node, parents):
                readers.add(str(path.relative_to(PACKAGE)))
    return readers


def _reads_environment(node: ast.AST, parents: dict[int, ast.AST]) -> bool:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os":
        if node.attr == "getenv":
            return True
        if node.attr == "environ":
            parent = parents.get(id(node))
            writes = (isinstance(parent, ast.Attribute) and parent.attr in WRITERS) or (
                isinstance(parent, ast.Subscript) and not isinstance(parent.ctx, ast.Load))
            return not writes
    return False


def test_the_readme_table_lists_exactly_the_declared_variables() -> None:
    table = readme_table()
    assert set(table) == {v.name for v in VARIABLES} | {CONNECTIONS_ROW}
    for variable in VARIABLES:
        assert variable.default in table[variable.name], variable.name


def test_every_variable_the_code_names_is_declared_and_documented() -> None:
    declared = {v.name for v in VARIABLES}
    undocumented = {name: sorted(files) for name, files in names_in_source().items()
                    if name not in declared or name not in readme_table()}
    assert undocumented == {}, "declare these in settings.py and add them to the README table"


def test_only_settings_reads_the_environment() -> None:
    readers = environment_readers()
    assert readers - STILL_TO_SWITCH - READS_ENVIRONMENT_BY_DESIGN == set(), "read it through settings.py"
    assert STILL_TO_SWITCH - readers == set(), "switched: remove it from STILL_TO_SWITCH"


def test_the_scan_finds_a_reader() -> None:
    tree = ast.parse("import os\nx = os.environ.get('A')\nos.environ.setdefault('B', '1')\n")
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = [node for node in ast.walk(tree) if _reads_environment(node, parents)]
    assert len(found) == 1


def test_defaults_and_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in VARIABLES:
        monkeypatch.delenv(variable.name, raising=False)
    monkeypatch.chdir(tmp_path)
    loaded = load_settings()
    assert (loaded.home, loaded.db_url) == (tmp_path, f"sqlite:///{tmp_path / 'var' / 'creditsync.db'}")
    assert (loaded.platform_url, loaded.platform_conn_id, loaded.platform_app_key) == (
        None, "creditsync_platform", None)
    assert loaded.adapters_dir == tmp_path / "adapters" and loaded.retry_max_wait_s is None
    assert settings.hash_key() == settings.DEFAULT_HASH_KEY.encode()

    monkeypatch.setenv("CREDITSYNC_PLATFORM_URL", "  ")  # blank is unset
    monkeypatch.setenv("CREDITSYNC_PLATFORM_TIMEOUT_S", " 2.5 ")
    monkeypatch.setenv("CREDITSYNC_ADAPTERS_DIR", str(tmp_path / "elsewhere"))
    loaded = load_settings()
    assert loaded.platform_url is None and loaded.platform_timeout_s == 2.5
    assert loaded.adapters_dir == tmp_path / "elsewhere"


@pytest.mark.parametrize("value", ["soon", "-1", "inf", "nan"])
def test_a_malformed_number_of_seconds_names_the_variable(monkeypatch: pytest.MonkeyPatch,
                                                          value: str) -> None:
    monkeypatch.setenv("CREDITSYNC_PLATFORM_TIMEOUT_S", value)
    with pytest.raises(ConfigurationError, match="CREDITSYNC_PLATFORM_TIMEOUT_S"):
        _ = load_settings().platform_timeout_s


def test_the_app_key_never_shows_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITSYNC_PLATFORM_APP_KEY", "sk-live-repr-check")
    assert "sk-live-repr-check" not in repr(load_settings())
