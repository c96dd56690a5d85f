"""`creditsync new-adapter` takes a new department from nothing to a passing conformance test and a DAG."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from creditsync.cli.main import app
from creditsync.exceptions import ConfigurationError
from creditsync.mapping import load_mapping
from creditsync.orchestration import build_dags
from creditsync.scaffold import KINDS, PLACEHOLDER_USCC, new_department


@pytest.mark.integration
@pytest.mark.parametrize("kind", KINDS)
def test_scaffolded_department_passes_its_generated_test(tmp_path: Path, kind: str) -> None:
    scaffold = new_department(tmp_path, f"new_{kind}", kind, "长清区新部门", ["penalty", "license"])
    test_file = tmp_path / "tests" / "departments" / f"test_department_new_{kind}.py"
    assert test_file in scaffold.written
    env = dict(os.environ, AIRFLOW_HOME=str(tmp_path / "airflow"))

    def run_generated_test() -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)]
        return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    if kind == "rest":  # once is enough to prove it: the placeholder fails the test, naming itself
        done = run_generated_test()
        assert done.returncode != 0 and PLACEHOLDER_USCC in done.stdout
    for mapping in (tmp_path / "mappings" / f"new_{kind}").glob("*.yaml"):  # what the person does
        text = mapping.read_text("utf-8")
        mapping.write_text(text.replace(PLACEHOLDER_USCC, "11370113MB2856435E"), "utf-8")
    done = run_generated_test()
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout


@pytest.mark.integration
@pytest.mark.parametrize(("auth", "paging", "cursor_format"), [
    ("oauth2_client_credentials", "next_link", "epoch_ms"),
    ("api_key", "cursor_token", "epoch_s"),
    ("session_token", "offset", "iso8601"),
    ("basic", "none", "row_version"),
])
def test_a_scaffolded_rest_department_with_its_auth_and_paging_passes_its_test_unchanged(
        tmp_path: Path, auth: str, paging: str, cursor_format: str) -> None:
    """The generated test runs the department against a sample API speaking the chosen auth, paging
    and cursor format: no Python override."""
    new_department(tmp_path, "new_api", "rest", "长清区新部门", ["penalty"], auth=auth, paging=paging,
                   cursor_format=cursor_format)
    adapter = (tmp_path / "adapters" / "new_api.yaml").read_text("utf-8")
    assert f"type: {auth}" in adapter and f"type: {paging}" in adapter
    for mapping in (tmp_path / "mappings" / "new_api").glob("*.yaml"):
        text = mapping.read_text("utf-8")
        mapping.write_text(text.replace(PLACEHOLDER_USCC, "11370113MB2856435E"), "utf-8")
    test_file = tmp_path / "tests" / "departments" / "test_department_new_api.py"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)]
    env = dict(os.environ, AIRFLOW_HOME=str(tmp_path / "airflow"))
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_rest_choices_are_checked_and_only_for_rest(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="unknown auth 'oauth'"):
        new_department(tmp_path, "x_api", "rest", auth="oauth")
    with pytest.raises(ConfigurationError, match="with --source rest"):
        new_department(tmp_path, "x_db", "sql", paging="offset")


def test_scaffolded_files_load_and_a_dag_appears(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITSYNC_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["new-adapter", "culture_tourism", "--source", "rest",
                                      "--title", "长清区文化和旅游局", "-c", "license"])
    assert result.exit_code == 0, result.output
    spec = load_mapping(tmp_path / "mappings" / "culture_tourism" / "license.yaml")
    assert spec.category == "license"
    assert "sync__culture_tourism" in build_dags()


@pytest.mark.parametrize(("name", "kind", "categories", "words"), [
    ("Bad-Name", "rest", ["penalty"], "lower_snake_case"),
    ("fine_name", "ftp", ["penalty"], "unknown source kind"),
    ("fine_name", "rest", ["weather"], "unknown categories"),
])
def test_bad_requests_are_refused(tmp_path: Path, name: str, kind: str, categories: list[str],
                                  words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        new_department(tmp_path, name, kind, None, categories)
    assert not (tmp_path / "adapters").exists()


def test_nothing_is_overwritten(tmp_path: Path) -> None:
    new_department(tmp_path, "twice", "sql")
    mapping = tmp_path / "mappings" / "twice" / "penalty.yaml"
    mapping.write_text("# edited by staff\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="exists already"):
        new_department(tmp_path, "twice", "sql")
    assert mapping.read_text(encoding="utf-8") == "# edited by staff\n"
